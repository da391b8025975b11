//! Model names as headroom keeps and shows them: they come from upstreams
//! and clients, so a hostile one could send a megabyte of text, or escape
//! sequences that rewrite a terminal. Every name is cut to a bound and made
//! printable before the log, the ledger or the stats see it.

/// The longest name kept whole, in bytes; a longer one is cut and ends
/// with `…`.
pub const MAX_MODEL_NAME: usize = 200;

/// What stands for a character that is not printable.
const REPLACEMENT: char = '?';

/// `raw` cut to `MAX_MODEL_NAME` bytes (on a character boundary, then `…`)
/// with every character that is not printable (controls, escapes, format
/// and bidirectional marks, other invisible ones) replaced by `?`.
pub fn clean(raw: &str) -> String {
    let mut name = String::with_capacity(raw.len().min(MAX_MODEL_NAME + 3));
    for c in raw.chars() {
        let c = if printable(c) { c } else { REPLACEMENT };
        if name.len() + c.len_utf8() > MAX_MODEL_NAME {
            name.push('…');
            break;
        }
        name.push(c);
    }
    name
}

/// `clean` for a name already owned: kept as it is when nothing in it
/// needs changing, as nearly every name does.
pub fn cleaned(raw: String) -> String {
    let plain = |b: u8| b.is_ascii_graphic() || b == b' ';
    if raw.len() <= MAX_MODEL_NAME && raw.bytes().all(plain) {
        raw
    } else {
        clean(&raw)
    }
}

/// Visible ASCII and space, and letters and digits of other scripts: every
/// model name seen in the wild, and nothing that moves a cursor or hides.
fn printable(c: char) -> bool {
    c.is_ascii_graphic() || c == ' ' || (!c.is_ascii() && c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_as_they_are() {
        for name in [
            "claude-sonnet-4-5",
            "accounts/fireworks/models/qwen3-coder-480b",
            "anthropic/claude-3.5:beta",
            "通义千问-max",
        ] {
            assert_eq!(clean(name), name);
            assert_eq!(cleaned(name.to_owned()), name);
        }
    }

    #[test]
    fn controls_and_invisible_marks_become_question_marks() {
        assert_eq!(clean("gpt\u{1b}[31m-x"), "gpt?[31m-x");
        assert_eq!(clean("a\nb\tc\u{7f}"), "a?b?c?");
        assert_eq!(clean("evil\u{202e}txt.exe\u{200b}"), "evil?txt.exe?");
        assert_eq!(cleaned("gpt\u{1b}[31m-x".to_owned()), "gpt?[31m-x");
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let long = "m".repeat(10_000);
        let cut = clean(&long);
        assert_eq!(cut, format!("{}…", "m".repeat(MAX_MODEL_NAME)));
        assert_eq!(cleaned(long), cut);
        let wide = "é".repeat(MAX_MODEL_NAME);
        let cut = clean(&wide);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(cut.len() <= MAX_MODEL_NAME + '…'.len_utf8());
        let exact = "m".repeat(MAX_MODEL_NAME);
        assert_eq!(clean(&exact), exact);
        assert_eq!(cleaned(exact.clone()), exact);
    }
}
