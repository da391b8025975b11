//! A document's picked members read without serde when it is plain JSON,
//! as nearly every answer is: read by hand, the answers `benches/usage.rs`
//! reads take 0.7x-0.8x of the time serde's generic parse takes.
//!
//! Plain means JSON without anything on which serde's answer depends on
//! more than the grammar: no `\u` escape (serde rejects a lone surrogate in
//! some members and not in others), no escaped or `$`-led member name
//! (serde_json's raw-value token), no number with an exponent or longer
//! than 18 characters (serde rejects one out of f64's range), nothing
//! nested deeper than 64, valid UTF-8 wherever serde reads a string's text
//! (see `Cursor::strict`). On anything else, malformed input included,
//! this gives up and serde reads the document: every answer is serde's,
//! only sooner.

use super::figures::{Count, Figures, UsageMember};
use super::picked::{Key, Picked};

const MAX_DEPTH: u32 = 64;

/// The longest number read here: 18 digits hold any such u64 exactly, and
/// no f64 that long is out of range.
const MAX_NUMBER_LEN: usize = 18;

/// `document`'s picked members, or `None` when it is not plain JSON with an
/// object at the top: then serde must read it.
pub(super) fn pick(document: &[u8]) -> Option<Picked> {
    let mut cursor = Cursor {
        bytes: document,
        at: 0,
        depth: 0,
        strict: true,
    };
    cursor.white_space();
    let picked = cursor.picked(true)?;
    cursor.white_space();
    (cursor.at == document.len()).then_some(picked)
}

/// Reads forward through a document. Every method returns `None` where the
/// document stops being plain JSON.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: u32,
    /// Strings must be valid UTF-8 here, as serde requires where it reads
    /// them: member names of the objects picked from, and everything in a
    /// model or usage member. In the values skipped, it looks no further
    /// than the quotes, and neither does this.
    strict: bool,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn white_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The members of a document's object (`outer`) or of its `message` or
    /// `response`.
    fn picked(&mut self, outer: bool) -> Option<Picked> {
        let mut picked = Picked::default();
        self.object(|cursor, name| {
            match Key::of(name) {
                Key::Model => {
                    // Only a string names the model; another value leaves
                    // an earlier one standing.
                    if let Some(model) = cursor.model()? {
                        picked.model = Some(model);
                    }
                }
                Key::Usage => picked.usage = Some(cursor.usage()?),
                Key::Nested if outer => picked.nested = Some(Box::new(cursor.nested()?)),
                Key::Nested | Key::Other => cursor.skip_leniently()?,
            }
            Some(())
        })?;
        Some(picked)
    }

    /// A `message` or `response` member: any value but an object picks
    /// nothing.
    fn nested(&mut self) -> Option<Picked> {
        match self.peek()? {
            b'{' => return self.picked(false),
            // serde reads a string's text here, but only skips an array's
            // elements.
            b'"' => drop(self.string()?),
            _ => self.skip_leniently()?,
        }
        Some(Picked::default())
    }

    /// A model member's name, when its value is a string.
    fn model(&mut self) -> Option<Option<String>> {
        if self.peek()? != b'"' {
            self.skip()?;
            return Some(None);
        }
        let (text, escaped) = self.string()?;
        if escaped {
            return None;
        }
        let text = std::str::from_utf8(text).ok()?;
        Some(Some(text.to_owned()))
    }

    /// A usage member: an object's counts, or any other value.
    fn usage(&mut self) -> Option<UsageMember> {
        if self.peek()? != b'{' {
            self.skip()?;
            return Some(UsageMember::Other);
        }
        let mut figures = Figures::default();
        self.object(|cursor, name| {
            match figures.slot(name) {
                Some((slot, None)) => *slot = cursor.count()?,
                Some((slot, Some(inner))) => *slot = cursor.inner_count(inner.as_bytes())?,
                None => cursor.skip()?,
            }
            Some(())
        })?;
        Some(UsageMember::Object(figures))
    }

    /// A count: a non-negative integer, or any other value.
    fn count(&mut self) -> Option<Count> {
        if let b'-' | b'0'..=b'9' = self.peek()? {
            return Some(self.number()?.map_or(Count::Other, Count::Number));
        }
        self.skip()?;
        Some(Count::Other)
    }

    /// The count named `inner` in an object of counts (`Absent` when the
    /// value is not an object or has no such member).
    fn inner_count(&mut self, inner: &[u8]) -> Option<Count> {
        if self.peek()? != b'{' {
            self.skip()?;
            return Some(Count::Absent);
        }
        let mut count = Count::Absent;
        self.object(|cursor, name| {
            if name == inner {
                count = cursor.count()?;
            } else {
                cursor.skip()?;
            }
            Some(())
        })?;
        Some(count)
    }

    /// Reads an object, calling `member` with each member's name; it must
    /// read the member's value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.container(b'{', b'}', |cursor| {
            let name = cursor.name()?;
            cursor.white_space();
            cursor.eat(b':')?;
            cursor.white_space();
            member(cursor, name)
        })
    }

    fn array(&mut self) -> Option<()> {
        self.container(b'[', b']', Self::skip)
    }

    /// Reads a container between the brackets `open` and `close`, calling
    /// `item` to read each of its comma-separated items.
    fn container(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.enter()?;
        self.white_space();
        if self.peek()? == close {
            self.at += 1;
        } else {
            loop {
                self.white_space();
                item(self)?;
                self.white_space();
                match self.next()? {
                    b',' => {}
                    byte if byte == close => break,
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// Reads any value without keeping it, with no look at its strings'
    /// bytes.
    fn skip_leniently(&mut self) -> Option<()> {
        let strict = std::mem::replace(&mut self.strict, false);
        self.skip()?;
        self.strict = strict;
        Some(())
    }

    /// Reads any value without keeping it.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(|cursor, _| cursor.skip()),
            b'[' => self.array(),
            b'"' => self.string().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if !self.bytes[self.at..].starts_with(word) {
            return None;
        }
        self.at += word.len();
        Some(())
    }

    /// A member's name: a string with no escape that does not start with
    /// `$`.
    fn name(&mut self) -> Option<&'a [u8]> {
        match self.string()? {
            (name, false) if name.first() != Some(&b'$') => Some(name),
            _ => None,
        }
    }

    /// A string's bytes between its quotes, escapes left in, and whether it
    /// holds any.
    // Inlined, as are the helpers below: most strings and numbers are a
    // few bytes long, and a call costs more than reading them.
    #[inline(always)]
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        self.eat(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            self.at += stop_in(&self.bytes[self.at..])?;
            match self.bytes[self.at] {
                b'"' => {
                    let text = &self.bytes[start..self.at];
                    self.at += 1;
                    if self.strict && !text.is_ascii() {
                        std::str::from_utf8(text).ok()?;
                    }
                    return Some((text, escaped));
                }
                b'\\' => match self.bytes.get(self.at + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                        escaped = true;
                        self.at += 2;
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
    }

    /// A number: its value when it is a non-negative integer, else `None`
    /// inside.
    #[inline(always)]
    fn number(&mut self) -> Option<Option<u64>> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let integer = self.digits();
        if integer.is_empty() || (integer.len() > 1 && integer[0] == b'0') {
            return None;
        }
        let mut whole = true;
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits().is_empty() {
                return None;
            }
            whole = false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) || self.at - start > MAX_NUMBER_LEN {
            return None;
        }
        if negative || !whole {
            return Some(None);
        }
        let value = integer
            .iter()
            .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'));
        Some(Some(value))
    }

    fn digits(&mut self) -> &'a [u8] {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        &self.bytes[start..self.at]
    }
}

/// The bytes a string's scan stops at: a quote, a backslash, and the
/// control characters a JSON string may not hold.
const STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        stops[byte] = true;
        byte += 1;
    }
    stops[b'"' as usize] = true;
    stops[b'\\' as usize] = true;
    stops
};

/// Where the first of the [`STOPS`] in `text` is. Member names and most
/// values end within a few bytes, looked at one by one; past those,
/// sixteen are looked at a time until a block holds a stop.
#[inline(always)]
fn stop_in(text: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = ONES << 7;
    const ONE_BY_ONE: usize = 16;
    let head = &text[..text.len().min(ONE_BY_ONE)];
    if let Some(found) = head.iter().position(|&byte| STOPS[usize::from(byte)]) {
        return Some(found);
    }
    // A mask with a byte's high bit set where a byte of `word` is a stop
    // (and perhaps past it): zero when it holds none.
    let stops = |word: u64| {
        let has_zero = |word: u64| word.wrapping_sub(ONES) & !word;
        let quote = has_zero(word ^ (ONES * u64::from(b'"')));
        let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
        let control = word.wrapping_sub(ONES * 0x20) & !word;
        (quote | backslash | control) & HIGHS
    };
    let mut at = head.len();
    while let Some(Ok(block)) = text.get(at..at + 16).map(<[u8; 16]>::try_from) {
        let [low, high] = [&block[..8], &block[8..]].map(|half| {
            let mut word = [0; 8];
            word.copy_from_slice(half);
            u64::from_ne_bytes(word)
        });
        if stops(low) | stops(high) != 0 {
            break;
        }
        at += 16;
    }
    let found = text[at..]
        .iter()
        .position(|&byte| STOPS[usize::from(byte)])?;
    Some(at + found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers of each API as they come, and documents that test the edges
    /// of plain JSON.
    const PLAIN: [&str; 9] = [
        r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"mock-1","choices":[{"index":0,"message":{"role":"assistant","content":"pong"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2}}}"#,
        r#"{"type":"message_start","message":{"id":"msg_1","model":"claude-opus-4-1","content":[],"stop_reason":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":2048,"cache_read_input_tokens":30000,"cache_creation":{"ephemeral_5m_input_tokens":2048},"output_tokens":1}}}"#,
        "{\n  \"type\": \"message\",\n  \"model\": \"claude-sonnet-4-5\",\n  \"content\": [{\"type\": \"text\", \"text\": \"the \\\"usage\\\": {} \\n\\t\\/ \\\\ d\u{e9}j\u{e0} \u{1f600}\"}],\n  \"usage\": {\"input_tokens\": 12, \"output_tokens\": 388, \"service_tier\": \"standard\"}\n}\n",
        r#"{"type":"response.completed","response":{"id":"resp_1","model":"gpt-5","output":[{"type":"reasoning","summary":[]}],"usage":{"input_tokens":30,"input_tokens_details":{"cached_tokens":10},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":5}}}}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":"Voilà le résumé — déjà prêt ✓ 😀 and the rest of it"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":2,"totalTokenCount":12,"thoughtsTokenCount":2},"modelVersion":"gemini-2.5-flash"}"#,
        r#"{"usage":{"prompt_tokens":-1,"completion_tokens":1.5,"input_tokens":-0,"output_tokens":0,"cache_read_input_tokens":"7","promptTokenCount":null,"candidatesTokenCount":[1,{"a":true}],"thoughtsTokenCount":{"n":false}}}"#,
        r#"{"usage":{"prompt_tokens":1,"prompt_tokens":2,"prompt_tokens_details":{"cached_tokens":4,"cached_tokens":5},"completion_tokens_details":7},"usage":{"input_tokens":3},"model":"a","model":[7,"s"],"response":"text","message":["m",{"k":"v"}]}"#,
        r#"{"model":"","usage":["u",{"k":"v"}],"x":[[],{},[{}],-0.5,123456789012345678],"response":{"model":"m","response":{"model":"deep"}}}"#,
        r#"  {"usage" : { "output_tokens" : 999999999999999999 } , "message" : { } }  "#,
    ];

    /// Serde's reading, which the plain one must match.
    fn by_serde(document: &[u8]) -> Option<Picked> {
        serde_json::from_slice(document).ok()
    }

    #[test]
    fn plain_documents_read_as_serde_reads_them() {
        for document in PLAIN {
            let plain = pick(document.as_bytes());
            assert!(plain.is_some(), "not read as plain: {document}");
            assert_eq!(plain, by_serde(document.as_bytes()), "{document}");
        }
        let picked = pick(PLAIN[0].as_bytes()).unwrap_or_default();
        assert_eq!(picked.model.as_deref(), Some("mock-1"));
        let figures = picked.usage.as_ref().and_then(UsageMember::figures);
        let cached = figures.map(|f| f.get(super::super::figures::Member::PromptCachedTokens));
        assert_eq!(cached, Some(Count::Number(4)));
    }

    #[test]
    fn what_is_not_plain_is_left_to_serde() {
        let deep = format!("{}{}", "[".repeat(64), "]".repeat(64));
        let not_plain = [
            r#"{"model":"caf\u00e9"}"#.to_owned(),
            r#"{"mod\"el":"x"}"#.to_owned(),
            r#"{"$serde_json::private::RawValue":"1"}"#.to_owned(),
            r#"{"usage":{"prompt_tokens":1e2}}"#.to_owned(),
            r#"{"usage":{"prompt_tokens":1234567890123456789}}"#.to_owned(),
            format!(r#"{{"x":{deep}}}"#),
            r#"[{"usage":{}}]"#.to_owned(),
            r#"{"usage":{}"#.to_owned(),
            r#"{"usage":{}}}"#.to_owned(),
            "{\"x\":\"tab\there\"}".to_owned(),
        ];
        for document in &not_plain {
            assert_eq!(pick(document.as_bytes()), None, "{document}");
        }
        // Text serde reads must be UTF-8; text it skips need not be.
        assert_eq!(pick(b"{\"\xff\":1}"), None);
        assert_eq!(pick(b"{\"usage\":{\"x\":\"\xff\"}}"), None);
        assert_eq!(pick(b"{\"model\":[\"\xff\"]}"), None);
        let skipped = b"{\"x\":{\"\xff\":\"\xc3\"},\"usage\":null}";
        assert_eq!(
            pick(skipped),
            Some(Picked {
                usage: Some(UsageMember::Other),
                ..Picked::default()
            })
        );
        assert_eq!(pick(skipped), by_serde(skipped));
    }

    #[test]
    fn the_scan_stops_at_the_first_stop_wherever_it_lies() {
        for len in 0..40 {
            for at in 0..=len {
                for byte in 0..=255u8 {
                    let mut text = vec![b'a'; len];
                    text.extend_from_slice(b"\x7f\xc3\xa9 ~");
                    if at < len {
                        text[at] = byte;
                    }
                    let expected = text
                        .iter()
                        .position(|&b| b < 0x20 || b == b'"' || b == b'\\');
                    assert_eq!(stop_in(&text), expected, "{text:?}");
                }
            }
        }
    }

    /// Every document above, each byte replaced by, or preceded by, each
    /// byte that matters to the grammar, and each byte left out: wherever
    /// the plain reading answers, it answers as serde does.
    #[test]
    fn a_damaged_document_reads_as_serde_reads_it_or_not_at_all() {
        const BYTES: &[u8] = b"\"\\{}[],: \n0159-+.eEtfnu$\x01\x7f\xc3\xff";
        let mut answered = 0;
        let mut check = |document: &[u8]| {
            if let Some(plain) = pick(document) {
                answered += 1;
                assert_eq!(
                    Some(plain),
                    by_serde(document),
                    "{}",
                    String::from_utf8_lossy(document)
                );
            }
        };
        for document in PLAIN {
            let document = document.as_bytes();
            for at in 0..document.len() {
                let mut left_out = document.to_vec();
                left_out.remove(at);
                check(&left_out);
                for &byte in BYTES {
                    let mut replaced = document.to_vec();
                    replaced[at] = byte;
                    check(&replaced);
                    let mut inserted = document.to_vec();
                    inserted.insert(at, byte);
                    check(&inserted);
                }
            }
        }
        // Most damage is still plain JSON somewhere a string's text lies:
        // the comparison above must have had something to compare.
        assert!(answered > 10_000, "only {answered} damaged documents read");
    }
}
