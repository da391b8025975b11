//! The request encodings the stage can read and send again the same way:
//! none, and zstd (Codex compresses every request it sends). A body in any
//! other encoding, or in two, goes upstream untouched.

use std::io::Read;

use bytes::Bytes;
use http::{header, HeaderMap};

use crate::proxy::stages::REQUEST_BODY_LIMIT;

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    Identity,
    Zstd,
}

/// zstd's own default level: what a client that compresses its requests
/// most likely used, fast to write.
const ZSTD_LEVEL: i32 = 3;

impl BodyEncoding {
    /// The encoding `headers` name, when the stage can undo and redo it.
    pub fn of(headers: &HeaderMap) -> Option<BodyEncoding> {
        let mut named = headers.get_all(header::CONTENT_ENCODING).iter();
        let Some(first) = named.next() else {
            return Some(BodyEncoding::Identity);
        };
        if named.next().is_some() {
            return None;
        }
        let value = first.to_str().ok()?.trim();
        if value.eq_ignore_ascii_case("identity") {
            Some(BodyEncoding::Identity)
        } else if value.eq_ignore_ascii_case("zstd") {
            Some(BodyEncoding::Zstd)
        } else {
            None
        }
    }

    /// The body's bytes as the client wrote them before encoding; `None`
    /// when they do not decode, or decode to more than the stage reads.
    pub fn decode(self, body: &Bytes) -> Option<Bytes> {
        match self {
            BodyEncoding::Identity => Some(body.clone()),
            BodyEncoding::Zstd => {
                let decoder = zstd::stream::read::Decoder::with_buffer(&body[..]).ok()?;
                let mut plain =
                    Vec::with_capacity(body.len().saturating_mul(4).min(REQUEST_BODY_LIMIT));
                let limit = REQUEST_BODY_LIMIT as u64;
                decoder.take(limit + 1).read_to_end(&mut plain).ok()?;
                (plain.len() as u64 <= limit).then(|| Bytes::from(plain))
            }
        }
    }

    /// `plain` encoded again; `None` when the encoder fails.
    pub fn encode(self, plain: String) -> Option<Bytes> {
        match self {
            BodyEncoding::Identity => Some(Bytes::from(plain)),
            BodyEncoding::Zstd => zstd::bulk::compress(plain.as_bytes(), ZSTD_LEVEL)
                .ok()
                .map(Bytes::from),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(encodings: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for encoding in encodings {
            headers.append(
                header::CONTENT_ENCODING,
                http::HeaderValue::from_str(encoding).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn only_none_and_zstd_are_read() {
        assert_eq!(
            BodyEncoding::of(&headers(&[])),
            Some(BodyEncoding::Identity)
        );
        assert_eq!(
            BodyEncoding::of(&headers(&["identity"])),
            Some(BodyEncoding::Identity)
        );
        assert_eq!(
            BodyEncoding::of(&headers(&[" ZSTD "])),
            Some(BodyEncoding::Zstd)
        );
        for other in [&["gzip"][..], &["br"], &["gzip, zstd"], &["zstd", "zstd"]] {
            assert_eq!(BodyEncoding::of(&headers(other)), None, "{other:?}");
        }
    }

    #[test]
    fn zstd_round_trips_and_refuses_what_it_cannot_read() {
        let plain = r#"{"input":[{"type":"function_call_output","output":"ok"}]}"#.repeat(50);
        let encoded = BodyEncoding::Zstd.encode(plain.clone()).unwrap();
        assert!(encoded.len() < plain.len());
        let decoded = BodyEncoding::Zstd.decode(&encoded).unwrap();
        assert_eq!(decoded, plain.as_bytes());
        assert_eq!(
            BodyEncoding::Zstd.decode(&Bytes::from_static(b"not zstd")),
            None
        );
        let truncated = encoded.slice(..encoded.len() / 2);
        assert_eq!(BodyEncoding::Zstd.decode(&truncated), None);
    }

    #[test]
    fn a_zstd_bomb_is_not_read() {
        let huge = vec![b' '; REQUEST_BODY_LIMIT + 1];
        let encoded = Bytes::from(zstd::bulk::compress(&huge, 3).unwrap());
        assert!(encoded.len() < 4096);
        assert_eq!(BodyEncoding::Zstd.decode(&encoded), None);
    }
}
