//! Responses on their way to a client: the head written out, and the body
//! framed for the client's connection, which need not be framed as the
//! upstream framed it (an HTTP/1.0 client gets no chunked coding).

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use http::{HeaderMap, Method, StatusCode, Version};
use http_body::SizeHint;

use crate::proxy::wire::fields::{content_length, encode_fields};

/// How a response body goes to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing {
    /// No body may follow the head: a HEAD answer, 1xx, 204, 304.
    NoBody,
    Length(u64),
    Chunked,
    /// Unknown length to an HTTP/1.0 client: the close ends the body.
    UntilClose,
}

impl Outgoing {
    /// RFC 9112 section 6.3, from the sender's side: the response's own
    /// `content-length` if it has one, else the body's exact size if known,
    /// else chunks (or the connection's close, for HTTP/1.0).
    pub fn for_response(
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
        body: &SizeHint,
        client: Version,
    ) -> Outgoing {
        if method == Method::HEAD
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            return Outgoing::NoBody;
        }
        // A forwarded body is framed by its own `content-length`, so an
        // exact size is that length, found without a lookup in the map.
        if let Some(length) = body.exact() {
            return Outgoing::Length(length);
        }
        if let Ok(Some(length)) = content_length(headers) {
            return Outgoing::Length(length);
        }
        match client {
            Version::HTTP_11 => Outgoing::Chunked,
            _ => Outgoing::UntilClose,
        }
    }
}

/// Writes the response head. `connection`, when given, is said in a
/// `connection` field: `close` when the connection ends after this
/// response, `keep-alive` to an HTTP/1.0 client when it does not;
/// response; the framing header is added when the response lacks it.
pub fn encode_head(
    status: StatusCode,
    headers: &HeaderMap,
    outgoing: Outgoing,
    connection: Option<&str>,
    out: &mut BytesMut,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.extend_from_slice(b" ");
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let present = encode_fields(headers, out);
    match outgoing {
        Outgoing::Length(length) if !present.content_length => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(length.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Outgoing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        _ => {}
    }
    if let Some(connection) = connection {
        out.extend_from_slice(b"connection: ");
        out.extend_from_slice(connection.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !present.date {
        out.extend_from_slice(b"date: ");
        with_http_date(|date| out.extend_from_slice(date));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// The `100 Continue` a client that sent `Expect: 100-continue` waits for.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The line before each chunk: its size in hex, then CRLF.
pub fn encode_chunk_size(size: usize, out: &mut BytesMut) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 2 * std::mem::size_of::<usize>()];
    let mut at = digits.len();
    let mut rest = size;
    loop {
        at -= 1;
        digits[at] = HEX[rest & 0xf];
        rest >>= 4;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b"\r\n");
}

/// The current time as an HTTP date, remade once a second: every response
/// of the proxy's own needs one, and most forwarded ones have their own.
fn with_http_date(write: impl FnOnce(&[u8])) {
    thread_local! {
        static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let second = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    CACHED.with_borrow_mut(|(cached_second, date)| {
        if *cached_second != second {
            *date = httpdate::fmt_http_date(now);
            *cached_second = second;
        }
        write(date.as_bytes());
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use http::{response, Response};

    fn parts(status: u16, headers: &[(&'static str, &'static str)]) -> response::Parts {
        let mut builder = Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_body_is_framed_for_the_client() {
        let unknown = SizeHint::default();
        let exact = SizeHint::with_exact(7);
        let get = Method::GET;
        let ok = parts(200, &[]);
        assert_eq!(
            Outgoing::for_response(&get, ok.status, &ok.headers, &unknown, Version::HTTP_11),
            Outgoing::Chunked
        );
        assert_eq!(
            Outgoing::for_response(&get, ok.status, &ok.headers, &unknown, Version::HTTP_10),
            Outgoing::UntilClose
        );
        assert_eq!(
            Outgoing::for_response(&get, ok.status, &ok.headers, &exact, Version::HTTP_10),
            Outgoing::Length(7)
        );
        let sized = parts(200, &[("content-length", "12")]);
        assert_eq!(
            Outgoing::for_response(
                &get,
                sized.status,
                &sized.headers,
                &unknown,
                Version::HTTP_11
            ),
            Outgoing::Length(12)
        );
        assert_eq!(
            Outgoing::for_response(
                &Method::HEAD,
                sized.status,
                &sized.headers,
                &unknown,
                Version::HTTP_11
            ),
            Outgoing::NoBody
        );
        for status in [101, 204, 304] {
            let empty = parts(status, &[]);
            assert_eq!(
                Outgoing::for_response(
                    &get,
                    empty.status,
                    &empty.headers,
                    &exact,
                    Version::HTTP_11
                ),
                Outgoing::NoBody
            );
        }
    }

    #[test]
    fn the_head_carries_the_fields_then_what_the_framing_needs() {
        let mut out = BytesMut::new();
        let head = parts(200, &[("x-a", "1"), ("x-a", "2"), ("date", "then")]);
        encode_head(
            head.status,
            &head.headers,
            Outgoing::Chunked,
            None,
            &mut out,
        );
        assert_eq!(
            &out[..],
            b"HTTP/1.1 200 OK\r\nx-a: 1\r\nx-a: 2\r\ndate: then\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        let mut out = BytesMut::new();
        let not_found = parts(404, &[]);
        encode_head(
            not_found.status,
            &not_found.headers,
            Outgoing::Length(3),
            Some("close"),
            &mut out,
        );
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(text.starts_with(
            "HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\nconnection: close\r\ndate: "
        ));
        assert!(text.ends_with(" GMT\r\n\r\n"), "{text}");
    }

    #[test]
    fn chunk_sizes_are_lowercase_hex() {
        for (size, line) in [
            (0, "0\r\n"),
            (9, "9\r\n"),
            (26, "1a\r\n"),
            (4096, "1000\r\n"),
            (0xbeef_cafe, "beefcafe\r\n"),
        ] {
            let mut out = BytesMut::new();
            encode_chunk_size(size, &mut out);
            assert_eq!(&out[..], line.as_bytes());
        }
    }
}
