//! The reader end to end, on response shapes modelled on each provider's
//! documented formats: whole, split at every byte boundary, one byte at a
//! time, encoded, cut, and garbled.

mod anthropic;
mod encodings;
mod garbage;
mod gemini;
mod openai_chat;
mod openai_responses;
mod prices;

use super::{Family, Usage, UsageReader};

pub const SSE: Option<&str> = Some("text/event-stream; charset=utf-8");
pub const JSON: Option<&str> = Some("application/json");

/// Reads `chunks` as one response body.
pub fn read_chunks(
    family: Family,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    chunks: &[&[u8]],
    complete: bool,
) -> Usage {
    let mut reader = UsageReader::new(
        family,
        content_type,
        content_encoding,
        Some("request-model".to_owned()),
    );
    for chunk in chunks {
        reader.feed(chunk);
    }
    reader.finish(complete)
}

/// Reads `body` whole, split in two at every byte boundary, and one byte
/// at a time; every way must read the same usage, which is returned.
pub fn read_every_way(
    family: Family,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
) -> Usage {
    let whole = read_chunks(family, content_type, content_encoding, &[body], true);
    for split in 0..=body.len() {
        let (head, tail) = body.split_at(split);
        let usage = read_chunks(family, content_type, content_encoding, &[head, tail], true);
        assert_eq!(usage, whole, "split at byte {split}");
    }
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    let usage = read_chunks(family, content_type, content_encoding, &bytes, true);
    assert_eq!(usage, whole, "one byte at a time");
    whole
}

/// A complete read's usage: input, cache read, cache write, output,
/// reasoning.
pub fn usage(model: &str, counts: [Option<u64>; 5]) -> Usage {
    let [input, cache_read, cache_write, output, reasoning] = counts;
    Usage {
        model: Some(model.to_owned()),
        input_tokens: input,
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        output_tokens: output,
        reasoning_tokens: reasoning,
        complete: true,
    }
}

/// Nothing reported: only the model the request named.
pub fn unknown(complete: bool) -> Usage {
    Usage {
        model: Some("request-model".to_owned()),
        complete,
        ..Usage::default()
    }
}

/// A cut stream that named its model and reported nothing yet.
pub fn cut_knowing_only_model(model: &str) -> Usage {
    Usage {
        model: Some(model.to_owned()),
        complete: false,
        ..Usage::default()
    }
}

/// The body of a stream up to (not including) the first occurrence of
/// `marker`: the stream as a client saw it when the connection dropped.
pub fn cut_before<'a>(body: &'a [u8], marker: &str) -> &'a [u8] {
    let at = memchr::memmem::find(body, marker.as_bytes()).unwrap_or(body.len());
    &body[..at]
}
