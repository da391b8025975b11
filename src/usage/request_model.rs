//! The model a request asks for, read without keeping its body: Gemini
//! names it in the path (`/models/M:generateContent`); the other APIs in a
//! top-level `"model"` member, which clients put first. That member is
//! looked for in the body's first 64 KiB as the body streams past, one byte
//! at a time, keeping only the name.

use std::borrow::Cow;

use memchr::memchr2;

use super::model_name::{self, MAX_MODEL_NAME};

/// How much of a body is scanned for its `model`.
pub const SCAN_LIMIT: usize = 64 * 1024;

const KEY: &[u8] = b"model";

/// The model a Gemini path names: `M` of `.../models/M:generateContent`.
pub fn from_gemini_path(path: &str) -> Option<String> {
    let last = path.rsplit('/').next()?;
    let (model, _method) = last.split_once(':')?;
    (!model.is_empty()).then(|| model_name::clean(model))
}

/// Where the scan is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the body's opening `{`.
    Start,
    /// Outside any string.
    Between,
    /// In a string; `key` counts the bytes of `model` matched so far while
    /// it is a top-level key that still could be `model`.
    InString { key: Option<usize>, escaped: bool },
    /// After the top-level key `model`: waiting for its `:`.
    AfterKey,
    /// After the `:`: waiting for the value's opening quote.
    BeforeValue,
    /// In the value, whose bytes are kept as they come, escapes included.
    InValue { escaped: bool },
    /// Found, or not to be found.
    Done,
}

/// Scans a JSON body for its top-level `model`, chunk by chunk.
#[derive(Debug)]
pub struct ModelScan {
    state: State,
    /// Nesting of objects and arrays; the body's own object is 1.
    depth: u32,
    /// At depth 1, the next string is a key.
    expect_key: bool,
    scanned: usize,
    value: Vec<u8>,
    found: Option<String>,
}

impl Default for ModelScan {
    fn default() -> ModelScan {
        ModelScan {
            state: State::Start,
            depth: 0,
            expect_key: false,
            scanned: 0,
            value: Vec::new(),
            found: None,
        }
    }
}

impl ModelScan {
    /// Reads the next chunk of the body; false once the scan is over
    /// (found, not there, or past the limit).
    pub fn feed(&mut self, chunk: &[u8]) -> bool {
        let room = SCAN_LIMIT - self.scanned;
        let chunk = &chunk[..chunk.len().min(room)];
        if self.scanned == 0 {
            if let Some(value) = leading_model(chunk) {
                self.found = name_of(value);
                self.state = State::Done;
                return false;
            }
        }
        self.scanned += chunk.len();
        let mut at = 0;
        while at < chunk.len() {
            // The bytes of a string that is not a key leave the state as it
            // is: jump to the next quote or escape (a long message before
            // `model` would otherwise be stepped through byte by byte).
            if let State::InString {
                key: None,
                escaped: false,
            } = self.state
            {
                match memchr2(b'"', b'\\', &chunk[at..]) {
                    Some(offset) => at += offset,
                    None => break,
                }
            }
            self.step(chunk[at]);
            if self.state == State::Done {
                return false;
            }
            at += 1;
        }
        if self.scanned >= SCAN_LIMIT {
            self.state = State::Done;
        }
        self.state != State::Done
    }

    /// The model found, printable and bounded.
    pub fn finish(self) -> Option<String> {
        self.found
    }

    fn step(&mut self, byte: u8) {
        self.state = match self.state {
            State::Start => match byte {
                b'{' => {
                    self.depth = 1;
                    self.expect_key = true;
                    State::Between
                }
                b' ' | b'\t' | b'\r' | b'\n' => State::Start,
                _ => State::Done,
            },
            State::Between => self.between(byte),
            State::InString { key, escaped } => match (escaped, byte) {
                (true, _) => State::InString {
                    key: None,
                    escaped: false,
                },
                (false, b'\\') => State::InString {
                    key: None,
                    escaped: true,
                },
                (false, b'"') if key == Some(KEY.len()) => State::AfterKey,
                (false, b'"') => State::Between,
                (false, _) => State::InString {
                    key: key.filter(|&n| KEY.get(n) == Some(&byte)).map(|n| n + 1),
                    escaped: false,
                },
            },
            State::AfterKey => match byte {
                b':' => State::BeforeValue,
                b' ' | b'\t' | b'\r' | b'\n' => State::AfterKey,
                _ => State::Done,
            },
            State::BeforeValue => match byte {
                b'"' => State::InValue { escaped: false },
                b' ' | b'\t' | b'\r' | b'\n' => State::BeforeValue,
                // A `model` that is not a string names no model.
                _ => State::Done,
            },
            State::InValue { escaped } => self.in_value(byte, escaped),
            State::Done => State::Done,
        };
    }

    fn between(&mut self, byte: u8) -> State {
        match byte {
            b'"' => {
                let key = (self.depth == 1 && self.expect_key).then_some(0);
                return State::InString {
                    key,
                    escaped: false,
                };
            }
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth -= 1;
                if self.depth == 0 {
                    return State::Done;
                }
            }
            b',' if self.depth == 1 => self.expect_key = true,
            b':' if self.depth == 1 => self.expect_key = false,
            _ => {}
        }
        State::Between
    }

    fn in_value(&mut self, byte: u8, escaped: bool) -> State {
        if !escaped && byte == b'"' {
            self.found = name_of(&self.value);
            return State::Done;
        }
        self.value.push(byte);
        // Past the bound, the name is cut: what follows cannot matter.
        if self.value.len() > MAX_ESCAPED_NAME {
            self.found = name_of(without_partial_escape(&self.value));
            return State::Done;
        }
        State::InValue {
            escaped: !escaped && byte == b'\\',
        }
    }
}

/// The most of a value kept: enough for a name of `MAX_MODEL_NAME` bytes
/// written wholly in `\uXXXX` escapes (six bytes for as few as one).
const MAX_ESCAPED_NAME: usize = 6 * MAX_MODEL_NAME + 6;

/// The model a string value's bytes (escapes as sent) name, cleaned;
/// `None` when empty. Escapes are read as JSON reads them; a value they
/// do not make a JSON string of (a lone surrogate, bytes that are not
/// UTF-8) keeps its text as sent, escapes and all.
fn name_of(value: &[u8]) -> Option<String> {
    let as_sent = || String::from_utf8_lossy(value);
    // Nearly every name has no escape: read in place, without a copy.
    let text = match memchr::memchr(b'\\', value) {
        None => as_sent(),
        Some(_) => {
            let mut quoted = Vec::with_capacity(value.len() + 2);
            quoted.push(b'"');
            quoted.extend_from_slice(value);
            quoted.push(b'"');
            serde_json::from_slice::<String>(&quoted).map_or_else(|_| as_sent(), Cow::Owned)
        }
    };
    Some(model_name::clean(&text)).filter(|name| !name.is_empty())
}

/// `value` without an escape its cut left unfinished (`\`, `\u00`).
fn without_partial_escape(value: &[u8]) -> &[u8] {
    let tail_start = value.len().saturating_sub(6);
    let Some(slash) = value[tail_start..].iter().rposition(|&b| b == b'\\') else {
        return value;
    };
    let slash = tail_start + slash;
    // An escaped backslash ends its escape at once.
    let backslashes = value[..=slash]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    if backslashes % 2 == 0 {
        return value;
    }
    let escape = &value[slash..];
    let finished = match escape.get(1) {
        Some(b'u') => escape.len() == 6,
        Some(_) => true,
        None => false,
    };
    if finished {
        value
    } else {
        &value[..slash]
    }
}

/// The common case in one look: a body that opens with its `model`, a
/// string without escapes (`{"model":"gpt-5",...`), whole in the chunk.
/// `None` sends any other body through the scan, byte by byte.
fn leading_model(chunk: &[u8]) -> Option<&[u8]> {
    let rest = chunk.trim_ascii_start().strip_prefix(b"{")?;
    let rest = rest.trim_ascii_start().strip_prefix(b"\"model\"")?;
    let rest = rest.trim_ascii_start().strip_prefix(b":")?;
    let rest = rest.trim_ascii_start().strip_prefix(b"\"")?;
    let end = memchr2(b'"', b'\\', rest)?;
    (rest[end] == b'"').then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model `body` names, fed whole and split at every byte.
    fn scanned(body: &str) -> Option<String> {
        let mut whole = ModelScan::default();
        whole.feed(body.as_bytes());
        let whole = whole.finish();
        for split in 0..=body.len() {
            let mut parts = ModelScan::default();
            let (a, b) = body.as_bytes().split_at(split);
            if parts.feed(a) {
                parts.feed(b);
            }
            assert_eq!(parts.finish(), whole, "{body:?} split at {split}");
        }
        whole
    }

    #[test]
    fn finds_the_top_level_model_wherever_it_is() {
        let cases = [
            (r#"{"model":"gpt-5","messages":[]}"#, Some("gpt-5")),
            (
                r#" { "stream" : true, "model" : "claude-sonnet-4-5" }"#,
                Some("claude-sonnet-4-5"),
            ),
            (
                r#"{"messages":[{"role":"user","content":"{\"model\":\"no\"}"}],"model":"yes"}"#,
                Some("yes"),
            ),
            (
                r#"{"metadata":{"model":"nested"},"model":"top"}"#,
                Some("top"),
            ),
            (r#"{"a":"model","model":"m"}"#, Some("m")),
            (r#"{"models":"x","mode":"y","model":"z"}"#, Some("z")),
            (r#"{"model":"a\/b\"c"}"#, Some("a/b\"c")),
            (r#"{"model":"x\u001b[31m"}"#, Some("x?[31m")),
            (r#"{"model":"caf\u00e9-é"}"#, Some("café-é")),
            // As Python's json.dumps writes a name that is not ASCII.
            (r#"{"model":"\u901a\u4e49-max"}"#, Some("通义-max")),
            (r#"{"model":"\ud83d\ude00"}"#, Some("?")),
            // Escapes JSON cannot read leave the text as sent.
            (r#"{"model":"lone-\ud83d"}"#, Some(r"lone-\ud83d")),
            (
                r#"{"messages":[{"content":"a \"model\": \\\"x\\ \u0022 long text"}],"model":"after"}"#,
                Some("after"),
            ),
        ];
        for (body, model) in cases {
            assert_eq!(scanned(body).as_deref(), model, "{body}");
        }
    }

    #[test]
    fn finds_nothing_that_is_not_a_top_level_string_model() {
        for body in [
            r#"{"metadata":{"model":"nested"}}"#,
            r#"[{"model":"in-array"}]"#,
            r#"{"model":7}"#,
            r#"{"model":null,"x":{"model":"late"}}"#,
            r#"{"model":""}"#,
            r#"{"mod\u0065l":"escaped-key"}"#,
            r#"{"input":"model: m"}"#,
            "model=x",
            "",
            r#"{"model":"unterminated"#,
        ] {
            assert_eq!(scanned(body), None, "{body}");
        }
    }

    #[test]
    fn stops_at_the_limit_and_bounds_the_name() {
        let padding = "x".repeat(SCAN_LIMIT);
        let late = format!(r#"{{"input":"{padding}","model":"late"}}"#);
        let mut scan = ModelScan::default();
        assert!(!scan.feed(late.as_bytes()));
        assert_eq!(scan.finish(), None);

        let huge = format!(r#"{{"model":"{}"}}"#, "m".repeat(100_000));
        let cut = format!("{}…", "m".repeat(MAX_MODEL_NAME));
        assert_eq!(scanned(&huge), Some(cut));
        // Cut inside a character: read whole, split or byte by byte alike.
        let wide = format!(r#"{{"model":"a{}"}}"#, "é".repeat(MAX_MODEL_NAME));
        assert!(scanned(&wide).is_some_and(|name| name.ends_with('…')));
        // A name of escapes is read to the bound, and cut there.
        let escaped = format!(r#"{{"model":"{}"}}"#, r"\u00e9".repeat(MAX_MODEL_NAME));
        let cut = format!("{}…", "é".repeat(MAX_MODEL_NAME / 2));
        assert_eq!(scanned(&escaped), Some(cut));
    }

    #[test]
    fn a_cut_leaves_no_escape_unfinished() {
        for (value, kept) in [
            (r"ab\u00e9", r"ab\u00e9"),
            (r"ab\u00e", "ab"),
            (r"ab\u", "ab"),
            (r"ab\", "ab"),
            (r"ab\\", r"ab\\"),
            (r"ab\\\", r"ab\\"),
            (r#"ab\""#, r#"ab\""#),
            ("abcdefgh", "abcdefgh"),
        ] {
            assert_eq!(
                without_partial_escape(value.as_bytes()),
                kept.as_bytes(),
                "{value}"
            );
        }
    }

    #[test]
    fn reads_gemini_models_from_the_path() {
        let path = "/v1beta/models/gemini-2.5-pro:streamGenerateContent";
        assert_eq!(from_gemini_path(path).as_deref(), Some("gemini-2.5-pro"));
        let tuned = "/v1beta/tunedModels/my-tune:generateContent";
        assert_eq!(from_gemini_path(tuned).as_deref(), Some("my-tune"));
        assert_eq!(from_gemini_path("/v1beta/models/:generateContent"), None);
        assert_eq!(from_gemini_path("/v1/chat/completions"), None);
    }
}
