//! Buffers that never grow past a cap, capacity included.

/// The largest document kept for reading (an SSE event's data, a JSON body,
/// one element of a streamed array); a larger one is skipped. The largest
/// that carry usage repeat a whole response: a non-streamed body, or the
/// Responses API's `response.completed` with its instructions and output.
pub(super) const MAX_DOCUMENT_BYTES: usize = 4 << 20;

/// Appends `bytes` to `buffer` unless that would make it longer than `max`;
/// says whether it did. Growth stops at `max`, so the allocation does too.
pub(super) fn push_bounded(buffer: &mut Vec<u8>, bytes: &[u8], max: usize) -> bool {
    let needed = buffer.len() + bytes.len();
    if needed > max {
        return false;
    }
    if needed > buffer.capacity() {
        let grown = needed.max(buffer.capacity() * 2).min(max);
        buffer.reserve_exact(grown - buffer.len());
    }
    buffer.extend_from_slice(bytes);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_and_no_further() {
        let mut buffer = Vec::new();
        let mut pushed = 0;
        while push_bounded(&mut buffer, &[0; 100], 1000) {
            pushed += 1;
        }
        assert_eq!(pushed, 10);
        assert_eq!(buffer.len(), 1000);
        assert!(buffer.capacity() <= 1000);
        assert!(push_bounded(&mut Vec::new(), &[], 0));
    }
}
