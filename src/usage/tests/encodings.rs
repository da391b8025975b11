//! Encoded bodies are decoded on the side; the result is the plain body's.

use super::*;
use std::io::Write;

/// An Anthropic stream: several events, usage at both ends.
fn plain() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-haiku-4-5\",\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":5,\"output_tokens\":1}}}\n\n");
    for i in 0..8 {
        let delta = format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"word {i} \"}}}}\n\n");
        body.extend_from_slice(delta.as_bytes());
    }
    body.extend_from_slice(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":77}}\n\n");
    body
}

fn expected() -> Usage {
    usage(
        "claude-haiku-4-5",
        [Some(115), Some(100), Some(5), Some(77), None],
    )
}

/// Encodes `plain` as a streaming server does: flushed after each line,
/// so a client (and a cut) can decode every event sent so far.
fn encode(encoding: &str, plain: &[u8]) -> Vec<u8> {
    let out = Shared::default();
    let level = flate2::Compression::default();
    let sink = out.clone();
    let mut encoder: Box<dyn Write> = match encoding {
        "gzip" => Box::new(flate2::write::GzEncoder::new(sink, level)),
        "deflate" => Box::new(flate2::write::ZlibEncoder::new(sink, level)),
        "raw deflate" => Box::new(flate2::write::DeflateEncoder::new(sink, level)),
        "br" => Box::new(brotli::CompressorWriter::new(sink, 4096, 5, 22)),
        "zstd" => match zstd::stream::write::Encoder::new(sink, 3) {
            Ok(encoder) => Box::new(encoder.auto_finish()),
            Err(e) => panic!("zstd encoder: {e}"),
        },
        other => panic!("no encoder for {other}"),
    };
    for line in plain.split_inclusive(|&b| b == b'\n') {
        if let Err(e) = encoder.write_all(line).and_then(|_| encoder.flush()) {
            panic!("encoding {encoding}: {e}");
        }
    }
    // Each encoder ends its stream when dropped.
    drop(encoder);
    out.0.take()
}

/// A buffer the encoder writes into and the test reads back.
#[derive(Clone, Default)]
struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Raw deflate is sent as `deflate` by some servers.
const ENCODINGS: [(&str, &str); 5] = [
    ("gzip", "gzip"),
    ("deflate", "deflate"),
    ("raw deflate", "deflate"),
    ("br", "br"),
    ("zstd", "zstd"),
];

#[test]
fn every_encoding_reads_as_the_plain_body() {
    let plain = plain();
    assert_eq!(
        read_every_way(Family::Anthropic, SSE, None, &plain),
        expected()
    );
    for (encoder, header) in ENCODINGS {
        let encoded = encode(encoder, &plain);
        let read = read_every_way(Family::Anthropic, SSE, Some(header), &encoded);
        assert_eq!(read, expected(), "{encoder}");
    }
}

#[test]
fn encoding_names_are_read_loosely() {
    let encoded = encode("gzip", &plain());
    for header in ["GZIP", " gzip ", "x-gzip"] {
        let read = read_chunks(Family::Anthropic, SSE, Some(header), &[&encoded], true);
        assert_eq!(read, expected(), "{header}");
    }
    let read = read_chunks(Family::Anthropic, SSE, Some("identity"), &[&plain()], true);
    assert_eq!(read, expected());
}

/// A cut encoded stream still yields the events decoded before the cut.
#[test]
fn a_cut_encoded_stream_keeps_what_it_decoded() {
    let plain = plain();
    for (encoder, header) in ENCODINGS {
        let encoded = encode(encoder, &plain);
        let cut = &encoded[..encoded.len() * 3 / 4];
        let read = read_chunks(Family::Anthropic, SSE, Some(header), &[cut], false);
        assert_eq!(read.input_tokens, Some(115), "{encoder}");
        assert_eq!(read.output_tokens, None, "{encoder}");
        assert!(!read.complete, "{encoder}");
    }
}

#[test]
fn an_unknown_encoding_reads_nothing() {
    for header in ["compress", "gzip, br", "exotic"] {
        let read = read_chunks(Family::Anthropic, SSE, Some(header), &[&plain()], true);
        assert_eq!(read, unknown(false), "{header}");
    }
}

#[test]
fn a_corrupt_encoded_body_reads_nothing_and_is_incomplete() {
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    for (_, header) in ENCODINGS {
        let read = read_chunks(Family::Anthropic, SSE, Some(header), &[&garbage], true);
        assert_eq!(read, unknown(false), "{header}");
    }
}
