//! Splits a server-sent event stream into its events' data as the bytes
//! pass, keeping only the current partial line and event.

use super::bounded::{push_bounded, MAX_DOCUMENT_BYTES};
use memchr::memchr2;

/// Capacity kept between events; a buffer grown past it for one large event
/// is released, so a long stream does not hold it for its whole life.
const KEPT_CAPACITY: usize = 64 << 10;

#[derive(Default)]
pub(super) struct SseSplitter {
    /// The current line, when it spans chunks.
    line: Vec<u8>,
    line_too_long: bool,
    /// The current event's `data` lines, each followed by `\n`.
    data: Vec<u8>,
    event_too_long: bool,
    /// The last chunk ended in `\r`: a `\n` starting the next one belongs to
    /// the same line end.
    after_cr: bool,
}

impl SseSplitter {
    /// Reads `chunk`, calling `on_event` with the data of each event it ends.
    pub fn feed(&mut self, mut chunk: &[u8], on_event: &mut impl FnMut(&[u8])) {
        if chunk.is_empty() {
            return;
        }
        if std::mem::take(&mut self.after_cr) {
            chunk = chunk.strip_prefix(b"\n").unwrap_or(chunk);
        }
        while let Some(at) = memchr2(b'\n', b'\r', chunk) {
            let (head, rest) = chunk.split_at(at);
            let ending = match rest {
                [b'\r', b'\n', ..] => 2,
                [b'\r'] => {
                    self.after_cr = true;
                    1
                }
                _ => 1,
            };
            if self.line.is_empty() && !self.line_too_long {
                self.end_line(head, on_event);
            } else {
                self.push_line(head);
                let line = std::mem::take(&mut self.line);
                self.end_line(&line, on_event);
                self.line = line;
                self.line.clear();
                self.line.shrink_to(KEPT_CAPACITY);
            }
            chunk = &rest[ending..];
        }
        self.push_line(chunk);
    }

    /// The stream ended: what is pending is read as if a blank line
    /// followed, since a server may close without one and a data line cut
    /// short simply fails to parse.
    pub fn finish(&mut self, on_event: &mut impl FnMut(&[u8])) {
        if !self.line.is_empty() || self.line_too_long {
            let line = std::mem::take(&mut self.line);
            self.end_line(&line, on_event);
        }
        self.end_line(b"", on_event);
    }

    fn push_line(&mut self, bytes: &[u8]) {
        if self.line_too_long || bytes.is_empty() {
            return;
        }
        if !push_bounded(&mut self.line, bytes, MAX_DOCUMENT_BYTES) {
            self.line_too_long = true;
            self.line = Vec::new();
        }
    }

    fn end_line(&mut self, line: &[u8], on_event: &mut impl FnMut(&[u8])) {
        if std::mem::take(&mut self.line_too_long) {
            self.skip_event();
        } else if line.is_empty() {
            self.dispatch(on_event);
        } else if let Some(value) = data_value(line) {
            if self.event_too_long {
                return;
            }
            let kept = push_bounded(&mut self.data, value, MAX_DOCUMENT_BYTES)
                && push_bounded(&mut self.data, b"\n", MAX_DOCUMENT_BYTES);
            if !kept {
                self.skip_event();
            }
        }
        // Other fields (event, id, retry) and comments say nothing of usage.
    }

    fn skip_event(&mut self) {
        self.event_too_long = true;
        self.data = Vec::new();
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(&[u8])) {
        if !std::mem::take(&mut self.event_too_long) {
            if let Some((_, data)) = self.data.split_last() {
                on_event(data);
            }
        }
        self.data.clear();
        self.data.shrink_to(KEPT_CAPACITY);
    }
}

/// The value of a `data` field line: after `data:` and one optional space,
/// or empty for a bare `data`.
fn data_value(line: &[u8]) -> Option<&[u8]> {
    match line.strip_prefix(b"data")? {
        [] => Some(&[]),
        [b':', b' ', value @ ..] | [b':', value @ ..] => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = SseSplitter::default();
        let mut seen = Vec::new();
        let mut collect = |data: &[u8]| seen.push(String::from_utf8_lossy(data).into_owned());
        for chunk in chunks {
            splitter.feed(chunk, &mut collect);
        }
        splitter.finish(&mut collect);
        seen
    }

    #[test]
    fn every_line_ending_and_multi_line_data() {
        let stream = b"event: a\ndata: one\n\n: comment\r\ndata:two\r\ndata\r\ndata: x\r\n\r\nid: 3\rdata: three\r\rdata: last";
        let expected = ["one", "two\n\nx", "three", "last"];
        assert_eq!(events(&[stream]), expected);
        for split in 0..=stream.len() {
            let (a, b) = stream.split_at(split);
            assert_eq!(events(&[a, b]), expected, "split at {split}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(events(&bytes), expected);
    }

    #[test]
    fn a_field_that_only_starts_like_data_is_not_data() {
        assert_eq!(events(&[b"database: 1\ndata: 2\n\n"]), ["2"]);
    }

    #[test]
    fn an_oversized_event_is_skipped_and_its_memory_released() {
        let mut splitter = SseSplitter::default();
        let mut seen = Vec::new();
        let mut collect = |data: &[u8]| seen.push(data.len());
        splitter.feed(b"data: small\n\ndata: ", &mut collect);
        let block = vec![b'x'; 64 << 10];
        for _ in 0..(2 * MAX_DOCUMENT_BYTES / block.len()) {
            splitter.feed(&block, &mut collect);
            assert!(splitter.line.capacity() <= MAX_DOCUMENT_BYTES);
        }
        splitter.feed(b"\ndata: more\n\ndata: after\n\n", &mut collect);
        assert!(splitter.line.capacity() <= KEPT_CAPACITY);
        assert!(splitter.data.capacity() <= KEPT_CAPACITY);
        splitter.finish(&mut collect);
        assert_eq!(seen, [5, 5]);
    }
}
