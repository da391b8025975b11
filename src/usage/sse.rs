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
    /// An event was too large to keep, and went unread.
    skipped: bool,
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
        // The current event's one data line so far, left in `chunk` rather
        // than copied: most events are one line, whole in one chunk.
        let mut in_place: Option<&[u8]> = None;
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
                self.end_line_in_place(head, &mut in_place, on_event);
            } else {
                self.keep_in_place(&mut in_place);
                self.push_line(head);
                let line = std::mem::take(&mut self.line);
                self.end_line(&line, on_event);
                self.line = line;
                self.line.clear();
                self.line.shrink_to(KEPT_CAPACITY);
            }
            chunk = &rest[ending..];
        }
        self.keep_in_place(&mut in_place);
        self.push_line(chunk);
    }

    /// `end_line` for a line whole in the chunk, which may leave an
    /// event's only data line in place and read it there.
    fn end_line_in_place<'c>(
        &mut self,
        line: &'c [u8],
        in_place: &mut Option<&'c [u8]>,
        on_event: &mut impl FnMut(&[u8]),
    ) {
        if line.is_empty() {
            if let Some(data) = in_place.take() {
                on_event(data);
                return;
            }
        } else if in_place.is_none() && self.data.is_empty() && !self.event_too_long {
            // Left in place only when copying it would have fitted.
            if let Some(value) = data_value(line).filter(|v| v.len() < MAX_DOCUMENT_BYTES) {
                *in_place = Some(value);
                return;
            }
        }
        self.keep_in_place(in_place);
        self.end_line(line, on_event);
    }

    /// Copies a data line left in place into the event's data, before
    /// another line of the event or the end of the chunk.
    fn keep_in_place(&mut self, in_place: &mut Option<&[u8]>) {
        if let Some(value) = in_place.take() {
            self.push_data(value);
        }
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
            self.push_data(value);
        }
        // Other fields (event, id, retry) and comments say nothing of usage.
    }

    fn push_data(&mut self, value: &[u8]) {
        if self.event_too_long {
            return;
        }
        let kept = push_bounded(&mut self.data, value, MAX_DOCUMENT_BYTES)
            && push_bounded(&mut self.data, b"\n", MAX_DOCUMENT_BYTES);
        if !kept {
            self.skip_event();
        }
    }

    /// Was an event too large to read? Its usage, if it had any, is unknown.
    pub fn skipped(&self) -> bool {
        self.skipped
    }

    fn skip_event(&mut self) {
        self.event_too_long = true;
        self.skipped = true;
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
    fn an_event_at_the_bound_is_read_in_place_or_split_and_one_past_it_is_not() {
        for extra in [0, 1] {
            let value = "x".repeat(MAX_DOCUMENT_BYTES - 1 + extra);
            let stream = format!("data: a\n\ndata: {value}\n\ndata: b\n\n");
            let expected: Vec<usize> = if extra == 0 {
                vec![1, value.len(), 1]
            } else {
                vec![1, 1]
            };
            let bytes = stream.as_bytes();
            // Splits that leave the long line whole in one chunk (a line
            // that spans chunks is bounded as a line, prefix included).
            for split in [0, 9, bytes.len() - 10, bytes.len() - 2] {
                let (a, b) = bytes.split_at(split);
                let lens: Vec<usize> = events(&[a, b]).iter().map(String::len).collect();
                assert_eq!(lens, expected, "extra {extra}, split at {split}");
            }
        }
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
