//! Splits a JSON body into the objects that may carry usage as the bytes
//! pass: the body itself when it is an object, each element when it is an
//! array (Gemini streams a JSON array without `alt=sse`), each object when
//! objects follow one another (newline-delimited JSON).

use super::bounded::{push_bounded, MAX_DOCUMENT_BYTES};
use memchr::memchr2;

#[derive(Default)]
pub(super) struct JsonUnits {
    /// Containers open around the current byte.
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The outermost container is an array: its elements are the units.
    in_top_array: bool,
    /// The depth the current unit opened at, while one is open.
    unit_depth: Option<u32>,
    unit: Vec<u8>,
    unit_too_long: bool,
    /// A unit was too large to keep, and went unread.
    skipped: bool,
}

impl JsonUnits {
    /// Between documents: no container, string or unit open.
    pub fn at_rest(&self) -> bool {
        self.depth == 0 && !self.in_string && !self.escaped && self.unit_depth.is_none()
    }

    /// Was a unit too large to read? Its usage, if it had any, is unknown.
    pub fn skipped(&self) -> bool {
        self.skipped
    }

    /// Reads `chunk`, calling `on_unit` with each object it completes.
    pub fn feed(&mut self, chunk: &[u8], on_unit: &mut impl FnMut(&[u8])) {
        // Where the open unit starts in this chunk: 0 when it began in an
        // earlier one (its start is then in `unit`).
        let mut unit_start = self.unit_depth.map(|_| 0);
        let mut at = 0;
        while at < chunk.len() {
            if self.escaped {
                self.escaped = false;
                at += 1;
                continue;
            }
            if self.in_string {
                // Strings are most of a body: jump to the next quote or escape.
                match memchr2(b'"', b'\\', &chunk[at..]) {
                    None => break,
                    Some(offset) => {
                        at += offset;
                        if chunk[at] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                        }
                    }
                }
                at += 1;
                continue;
            }
            match chunk[at] {
                b'"' => self.in_string = true,
                open @ (b'{' | b'[') => {
                    let unit_level = self.depth == 0 || (self.depth == 1 && self.in_top_array);
                    if open == b'{' && unit_level && self.unit_depth.is_none() {
                        self.unit_depth = Some(self.depth);
                        unit_start = Some(at);
                    }
                    if open == b'[' && self.depth == 0 {
                        self.in_top_array = true;
                    }
                    self.depth = self.depth.saturating_add(1);
                }
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.in_top_array = false;
                    }
                    if self.unit_depth == Some(self.depth) {
                        let tail = &chunk[unit_start.unwrap_or(0)..=at];
                        if self.unit.is_empty() && !self.unit_too_long {
                            // The whole unit is in this chunk: read in place.
                            if tail.len() <= MAX_DOCUMENT_BYTES {
                                on_unit(tail);
                            } else {
                                self.skipped = true;
                            }
                        } else {
                            self.keep(tail);
                            if self.unit_too_long {
                                self.skipped = true;
                            } else {
                                on_unit(&self.unit);
                            }
                        }
                        self.end_unit();
                        unit_start = None;
                    }
                }
                _ => {}
            }
            at += 1;
        }
        if let Some(start) = unit_start {
            self.keep(&chunk[start..]);
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        if self.unit_too_long {
            return;
        }
        if !push_bounded(&mut self.unit, bytes, MAX_DOCUMENT_BYTES) {
            self.unit_too_long = true;
            self.unit = Vec::new();
        }
    }

    fn end_unit(&mut self) {
        self.unit_depth = None;
        self.unit_too_long = false;
        self.unit = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = JsonUnits::default();
        let mut seen = Vec::new();
        for chunk in chunks {
            splitter.feed(chunk, &mut |unit| {
                seen.push(String::from_utf8_lossy(unit).into_owned())
            });
        }
        seen
    }

    #[test]
    fn objects_arrays_and_strings_that_look_like_structure() {
        let body = br#" [{"a":"}\"{[","b":[{"c":1}]}
,{"d":2}] {"e":"\\"} {"f":3}"#;
        let expected = [
            r#"{"a":"}\"{[","b":[{"c":1}]}"#,
            r#"{"d":2}"#,
            r#"{"e":"\\"}"#,
            r#"{"f":3}"#,
        ];
        assert_eq!(units(&[body]), expected);
        for split in 0..=body.len() {
            let (a, b) = body.split_at(split);
            assert_eq!(units(&[a, b]), expected, "split at {split}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(units(&bytes), expected);
    }

    #[test]
    fn an_oversized_object_is_skipped_without_keeping_it() {
        let mut splitter = JsonUnits::default();
        let mut seen = Vec::new();
        let mut collect = |unit: &[u8]| seen.push(unit.len());
        splitter.feed(b"[{\"big\":\"", &mut collect);
        let block = vec![b'x'; 64 << 10];
        for _ in 0..(2 * MAX_DOCUMENT_BYTES / block.len()) {
            splitter.feed(&block, &mut collect);
            assert!(splitter.unit.capacity() <= MAX_DOCUMENT_BYTES);
        }
        splitter.feed(b"\"},{\"n\":1}]", &mut collect);
        assert_eq!(seen, [7]);

        // The same in one chunk, read in place.
        let mut whole = b"[{\"big\":\"".to_vec();
        whole.resize(whole.len() + MAX_DOCUMENT_BYTES, b'x');
        whole.extend_from_slice(b"\"},{\"n\":1}]");
        let mut splitter = JsonUnits::default();
        let mut seen = Vec::new();
        splitter.feed(&whole, &mut |unit: &[u8]| seen.push(unit.len()));
        assert_eq!(seen, [7]);
    }

    #[test]
    fn units_in_one_chunk_or_split_read_the_same() {
        for len in [0, 1, 17] {
            let text = "a".repeat(len);
            for escape_at in 0..=len {
                let inner = format!("{}\\\"}}{}", &text[..escape_at], &text[escape_at..]);
                let body = format!(r#"{{"k":"{inner}","n":[{{}}]}} {{"m":1}}"#);
                let expected = [
                    format!(r#"{{"k":"{inner}","n":[{{}}]}}"#),
                    r#"{"m":1}"#.to_owned(),
                ];
                assert_eq!(units(&[body.as_bytes()]), expected, "{body}");
                for split in 0..=body.len() {
                    let (a, b) = body.as_bytes().split_at(split);
                    assert_eq!(units(&[a, b]), expected, "{body} split at {split}");
                }
            }
        }
    }
}
