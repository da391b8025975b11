//! Token counts with OpenAI's o200k tokenizer. Its ranks are compiled into
//! the binary by `tiktoken-rs`, so counting needs no download. No exact
//! public tokenizer exists for current Claude or Gemini models; o200k is the
//! common yardstick, and the bill itself is read from the providers' usage.

use tiktoken_rs::CoreBPE;

/// The o200k tokenizer, built once on first use (about a tenth of a second
/// and 30 MiB).
fn o200k() -> &'static CoreBPE {
    tiktoken_rs::o200k_base_singleton()
}

/// How many o200k tokens `text` is, special-token text counted as plain.
pub fn count(text: &str) -> usize {
    o200k().encode_ordinary(text).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_o200k_tokens() {
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
        assert!(count(&"error: ".repeat(100)) >= 100);
    }
}
