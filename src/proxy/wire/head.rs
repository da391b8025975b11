//! Message heads on the upstream hop: the request head written out, the
//! response head parsed, and where each body ends.

use std::mem::MaybeUninit;

use bytes::{Buf, BytesMut};
use http::header::{self, HeaderMap};
use http::{request, response, Method, Response, StatusCode, Version};

pub use super::fields::HeadError;
use super::fields::{encode_fields, has_token, BadField, ContentLength, PlacedFields, Present};
use super::framing::Framing;
use super::names::HeadKind;
use crate::proxy::headers::{transfer_codings, TransferCodings};

/// Largest response head taken, status line and fields together.
const MAX_HEAD: usize = 64 * 1024;
const MAX_FIELDS: usize = 100;

/// How the request body goes upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFraming {
    /// No body, or one whose `content-length` the client gave and the
    /// server side has already enforced: its bytes are written as they are.
    AsIs,
    Chunked,
}

/// Writes the request head for an origin-form request to `authority`
/// (the `Host` value, see `Upstream::authority`).
pub fn encode_request(
    parts: &request::Parts,
    authority: &str,
    has_body: bool,
    out: &mut BytesMut,
) -> RequestFraming {
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.extend_from_slice(b" ");
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    let present = encode_fields(&parts.headers, out);
    let framing = if has_body && !present.content_length {
        RequestFraming::Chunked
    } else {
        RequestFraming::AsIs
    };
    if framing == RequestFraming::Chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(b"\r\n");
    framing
}

/// About how long `encode_request` makes the head, so it is written into
/// one allocation.
pub fn encoded_len(parts: &request::Parts) -> usize {
    let fields: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    let target = parts.uri.path_and_query().map_or(1, |pq| pq.as_str().len());
    let host = parts.uri.authority().map_or(0, |a| a.as_str().len());
    fields + target + host + 96
}

/// A parsed response head: the response without its body, where the body
/// ends, and whether the connection may carry another request after it.
pub struct ResponseHead {
    pub parts: response::Parts,
    pub framing: Framing,
    pub keep_alive: bool,
}

/// Parses the final response head off the front of `buf`, skipping interim
/// (1xx) heads; `None` until a whole head is buffered. A 101 is final when
/// the request asked to switch protocols (`upgrade_asked`), and an error
/// otherwise.
pub fn parse_response(
    buf: &mut BytesMut,
    method: &Method,
    upgrade_asked: bool,
) -> Result<Option<ResponseHead>, HeadError> {
    loop {
        // Left uninitialized: filling 100 empty fields first cost more
        // than parsing a usual head.
        let mut fields = [const { MaybeUninit::uninit() }; MAX_FIELDS];
        let mut parsed = httparse::Response::new(&mut []);
        let parser = httparse::ParserConfig::default();
        // The limit holds for a head read whole as for one still arriving,
        // however the upstream's writes split it.
        let too_long = || format!("response head larger than {} KiB", MAX_HEAD / 1024);
        let len = match parser.parse_response_with_uninit_headers(&mut parsed, buf, &mut fields) {
            Ok(httparse::Status::Complete(len)) if len > MAX_HEAD => return Err(too_long()),
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => return Err(too_long()),
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(error) => return Err(format!("invalid response head: {error}")),
        };
        let code = parsed.code.unwrap_or_default();
        let switched = code == 101;
        if switched && !upgrade_asked {
            return Err("it switched protocols unasked".to_owned());
        }
        if (100..200).contains(&code) && !switched {
            buf.advance(len);
            continue;
        }
        let status = StatusCode::from_u16(code).map_err(|e| format!("invalid status: {e}"))?;
        let version = if parsed.version == Some(0) {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        let placed = PlacedFields::note(parsed.headers, buf, len, HeadKind::Response)
            .map_err(BadField::describe)?;
        let present = placed.present();
        let length = placed.content_length();
        let head = placed.split_head(buf);
        let mut headers = placed.take(&head).map_err(BadField::describe)?;
        let framing = body_framing(method, status, &mut headers, present, length)?;
        // A switched connection carries the new protocol, never another
        // request.
        let keep_alive = version == Version::HTTP_11
            && !switched
            && !(present.connection && has_token(&headers, header::CONNECTION, "close"));
        let (mut parts, ()) = Response::new(()).into_parts();
        parts.status = status;
        parts.version = version;
        parts.headers = headers;
        return Ok(Some(ResponseHead {
            parts,
            framing,
            keep_alive,
        }));
    }
}

/// RFC 9112 section 6.3. A `content-length` beside `transfer-encoding` is
/// removed: the coding decides, and the client hop is framed anew.
fn body_framing(
    method: &Method,
    status: StatusCode,
    headers: &mut HeaderMap,
    present: Present,
    length: ContentLength,
) -> Result<Framing, HeadError> {
    if method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(Framing::Length(0));
    }
    if present.transfer_encoding {
        headers.remove(header::CONTENT_LENGTH);
        return Ok(match transfer_codings(headers) {
            TransferCodings::Chunked | TransferCodings::OthersThenChunked => Framing::chunked(),
            TransferCodings::None | TransferCodings::NotChunkedLast => Framing::UntilClose,
        });
    }
    Ok(length?.map_or(Framing::UntilClose, Framing::Length))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::proxy::upstream::Upstream;
    use crate::proxy::wire::framing::Chunked;

    fn parse(wire: &str, method: Method) -> Result<Option<ResponseHead>, HeadError> {
        parse_response(&mut BytesMut::from(wire), &method, false)
    }

    fn framing_of(wire: &str) -> String {
        format!("{:?}", parse(wire, Method::POST).unwrap().unwrap().framing)
    }

    #[test]
    fn the_request_head_carries_host_headers_and_framing() {
        let authority = |url| Upstream::parse(url).unwrap().authority().to_owned();
        let request = http::Request::post("http://127.0.0.1:9999/v1/chat?x=1")
            .header("authorization", "Bearer k")
            .header("x-b", "1")
            .header("x-b", "2")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let mut out = BytesMut::new();
        assert_eq!(
            encode_request(&parts, &authority("http://127.0.0.1:9999"), true, &mut out),
            RequestFraming::Chunked
        );
        assert!(
            out.len() <= encoded_len(&parts),
            "the estimate must cover the head"
        );
        assert_eq!(
            &out[..],
            b"POST /v1/chat?x=1 HTTP/1.1\r\nhost: 127.0.0.1:9999\r\nauthorization: Bearer k\r\n\
              x-b: 1\r\nx-b: 2\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        let (parts, ()) = http::Request::get("http://example.com:80/")
            .header("content-length", "0")
            .body(())
            .unwrap()
            .into_parts();
        let mut out = BytesMut::new();
        assert_eq!(
            encode_request(&parts, &authority("http://example.com:80"), false, &mut out),
            RequestFraming::AsIs
        );
        assert!(out.starts_with(b"GET / HTTP/1.1\r\nhost: example.com\r\n"));
    }

    #[test]
    fn bodies_end_where_rfc_9112_says() {
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n"),
            "Length(7)"
        );
        assert_eq!(
            framing_of(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 7\r\n\r\n"
            ),
            format!("{:?}", Framing::Chunked(Chunked::Size))
        );
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n"),
            "UntilClose"
        );
        assert_eq!(framing_of("HTTP/1.1 200 OK\r\n\r\n"), "UntilClose");
        assert_eq!(framing_of("HTTP/1.1 204 No Content\r\n\r\n"), "Length(0)");
        let head = parse("HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n", Method::HEAD);
        assert_eq!(format!("{:?}", head.unwrap().unwrap().framing), "Length(0)");
        let reframed = parse(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 7\r\n\r\n",
            Method::GET,
        );
        assert!(!reframed
            .unwrap()
            .unwrap()
            .parts
            .headers
            .contains_key("content-length"));
    }

    #[test]
    fn header_values_arrive_byte_for_byte_in_order() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 200 OK\r\nx-request-id: req_1\r\nx-empty:\r\nset-cookie: a=1\r\n\
               set-cookie: b=2\r\nx-latin: caf\xe9\r\ncontent-length: 2\r\n\r\nok"[..],
        );
        let head = parse_response(&mut buf, &Method::GET, false)
            .unwrap()
            .unwrap();
        let headers = &head.parts.headers;
        assert_eq!(headers["x-request-id"], "req_1");
        assert_eq!(headers["x-empty"], "");
        let cookies: Vec<_> = headers.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(headers["x-latin"].as_bytes(), b"caf\xe9");
        assert_eq!(&buf[..], b"ok", "the body stays buffered");
    }

    #[test]
    fn interim_heads_are_skipped_and_partial_heads_wait() {
        let mut buf = BytesMut::from(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
        );
        let head = parse_response(&mut buf, &Method::POST, false)
            .unwrap()
            .unwrap();
        assert_eq!(head.parts.status, 201);
        assert!(head.keep_alive);
        assert_eq!(&buf[..], b"ok");
        assert!(parse("HTTP/1.1 200 OK\r\ncontent-le", Method::GET)
            .unwrap()
            .is_none());
    }

    #[test]
    fn connection_close_and_http_1_0_spend_the_connection() {
        let close = parse(
            "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            Method::GET,
        );
        assert!(!close.unwrap().unwrap().keep_alive);
        let old = parse("HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", Method::GET);
        assert!(!old.unwrap().unwrap().keep_alive);
    }

    #[test]
    fn a_switch_asked_for_is_final_and_leaves_what_follows_it() {
        let wire = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\
                    connection: upgrade\r\nupgrade: websocket\r\n\r\nframes";
        let mut buf = BytesMut::from(wire);
        let head = parse_response(&mut buf, &Method::GET, true)
            .unwrap()
            .unwrap();
        assert_eq!(head.parts.status, StatusCode::SWITCHING_PROTOCOLS);
        assert!(!head.keep_alive, "a switched connection is never pooled");
        assert!(head.framing.is_done());
        assert_eq!(&buf[..], b"frames");
    }

    #[test]
    fn malformed_heads_are_errors() {
        for wire in [
            "this is not http\r\n\r\n",
            "HTTP/1.1 2x0 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nbad header line\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: +2\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        ] {
            assert!(parse(wire, Method::GET).is_err(), "{wire:?}");
        }
        let huge = format!("HTTP/1.1 200 OK\r\nx-big: {}", "a".repeat(MAX_HEAD));
        assert!(parse(&huge, Method::GET).is_err());
    }

    #[test]
    fn the_head_limit_holds_for_a_head_read_whole() {
        let status = "HTTP/1.1 200 OK\r\n";
        let sized = |len: usize| {
            let fill = len - status.len() - "x-big: \r\n\r\n".len();
            format!("{status}x-big: {}\r\n\r\n", "a".repeat(fill))
        };
        assert!(parse(&sized(MAX_HEAD), Method::GET).unwrap().is_some());
        for len in [MAX_HEAD + 1, 100 * 1024] {
            let refusal = parse(&sized(len), Method::GET).err();
            assert_eq!(
                refusal.as_deref(),
                Some("response head larger than 64 KiB"),
                "a whole head of {len} bytes"
            );
        }
    }
}
