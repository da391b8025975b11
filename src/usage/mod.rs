//! The usage ledger's reading side: token usage read from LLM responses as
//! they stream past the proxy, from a side copy, never changing or delaying
//! the bytes the client gets.
//!
//! One [`UsageReader`] per exchange is fed each response body chunk in
//! order and then finished; it yields a [`Usage`] whose figures mean the
//! same for every provider. What a response does not report, or reports in
//! a way that cannot be read, stays `None`: never guessed.

mod bounded;
mod decode;
mod document;
mod family;
mod figures;
mod json_units;
pub mod model_name;
mod picked;
mod plain;
pub mod prices;
mod reader;
pub mod request_model;
mod sse;
mod tally;

#[cfg(test)]
mod tests;

pub use family::Family;
pub use reader::UsageReader;

/// The usage of one exchange, in one meaning whatever the provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// The response's model, else the request's.
    pub model: Option<String>,
    /// Every prompt token, cached or not.
    pub input_tokens: Option<u64>,
    /// Prompt tokens read from the provider's cache.
    pub cache_read_tokens: Option<u64>,
    /// Prompt tokens written to the provider's cache (Anthropic reports
    /// them; OpenAI and Gemini do not).
    pub cache_write_tokens: Option<u64>,
    /// Every generated token, reasoning included.
    pub output_tokens: Option<u64>,
    /// Generated tokens spent on reasoning.
    pub reasoning_tokens: Option<u64>,
    /// The whole response was read: the stream was not cut and its bytes
    /// decoded. An incomplete read keeps what it saw.
    pub complete: bool,
}

impl Usage {
    /// These figures under another model name.
    pub fn with_model(&self, model: Option<String>) -> Usage {
        Usage {
            model,
            input_tokens: self.input_tokens,
            cache_read_tokens: self.cache_read_tokens,
            cache_write_tokens: self.cache_write_tokens,
            output_tokens: self.output_tokens,
            reasoning_tokens: self.reasoning_tokens,
            complete: self.complete,
        }
    }

    /// The response reported some token count.
    pub fn reported(&self) -> bool {
        [
            self.input_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
            self.output_tokens,
            self.reasoning_tokens,
        ]
        .iter()
        .any(Option::is_some)
    }
}
