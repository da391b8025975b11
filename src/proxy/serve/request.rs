//! Request heads from clients: parsed off the connection's read buffer,
//! with where the body ends and what the connection does afterwards. Any
//! head whose framing is ambiguous is refused, never guessed at: a proxy
//! that reads a body differently from its upstream can be made to smuggle
//! a second request inside the first.

use std::mem::MaybeUninit;
use std::ops::Range;

use bytes::{Buf, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::{request, Method, Request, StatusCode, Uri, Version};

use crate::proxy::error::ProxyError;
use crate::proxy::headers::{is_control, list_items, transfer_codings, Controls, TransferCodings};
use crate::proxy::routes::{classify, Family};
use crate::proxy::wire::fields::{place_in, BadField, ContentLength, PlacedFields, Present};
use crate::proxy::wire::framing::Framing;
use crate::proxy::wire::host::is_valid_host;
use crate::proxy::wire::names::HeadKind;

/// Largest request head taken, request line and fields together.
pub const MAX_HEAD: usize = 64 * 1024;
const MAX_FIELDS: usize = 100;

/// A parsed request head and what it says about the connection.
pub struct RequestHead {
    /// The request without its control headers.
    pub parts: request::Parts,
    pub controls: Controls,
    pub framing: Framing,
    /// The client allows another request on this connection.
    pub keep_alive: bool,
    /// The client waits for `100 Continue` before it sends the body.
    pub expects_continue: bool,
    /// The client lists `upgrade` in `Connection` on HTTP/1.1: it asks to
    /// switch to the protocol its `Upgrade` names (`UpgradeRequested`).
    pub upgrade: bool,
}

/// A head that cannot be served, with the API family its path names, so
/// that the refusal takes the error shape that API's clients read. OpenAI's
/// when the request line was not read.
#[derive(Debug)]
pub struct Refusal {
    pub error: ProxyError,
    pub family: Family,
}

fn bad(reason: &str) -> ProxyError {
    ProxyError::unreadable_head(StatusCode::BAD_REQUEST, reason)
}

fn too_large(reason: &str) -> ProxyError {
    ProxyError::unreadable_head(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, reason)
}

/// Parses the request head at the front of `buf` and removes it; `None`
/// until a whole head is buffered. Empty lines before a request line are
/// skipped, as RFC 9112 section 2.2 allows. A head that cannot be served is
/// an error to answer, after which the connection closes: where the next
/// request would start is unknown.
pub fn parse_request(buf: &mut BytesMut) -> Result<Option<RequestHead>, Refusal> {
    let blank = buf
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    buf.advance(blank);
    // Left uninitialized: filling 100 empty fields first cost more than
    // parsing a usual head.
    let mut fields = [const { MaybeUninit::uninit() }; MAX_FIELDS];
    let mut parsed = httparse::Request::new(&mut []);
    // The limit holds for a head read whole as for one still arriving,
    // however the client's writes split it.
    let too_long = || too_large("the request head is larger than 64 KiB");
    let parsing = parsed.parse_with_uninit_headers(buf, &mut fields);
    // A refusal is answered in the shape of its path's API: the path is
    // read for that only when there is one.
    let target = parsed.path;
    let refuse = |error| Refusal {
        error,
        family: family_of(target),
    };
    let len = match parsing {
        Ok(httparse::Status::Complete(len)) if len > MAX_HEAD => return Err(refuse(too_long())),
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => return Err(refuse(too_long())),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(refuse(too_large(
                "the request has more than 100 header fields",
            )))
        }
        Err(_) => return Err(refuse(bad("the request head is malformed"))),
    };
    let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
        .map_err(|_| refuse(bad("the request method is malformed")))?;
    let target_place = place_in(
        target.unwrap_or_default().as_bytes(),
        buf.as_ptr() as usize,
        len,
    );
    let version = match parsed.version {
        Some(1) => Version::HTTP_11,
        _ => Version::HTTP_10,
    };
    let malformed = |field| match field {
        BadField::Name(_) => bad("a header name is malformed"),
        BadField::Value(_) => bad("a header value is malformed"),
    };
    let mut placed = PlacedFields::note(parsed.headers, buf, len, HeadKind::Request)
        .map_err(|field| refuse(malformed(field)))?;
    let (controls, hosts) = leave_out_host_and_controls(&mut placed);
    check_host(version, hosts, buf).map_err(refuse)?;
    let present = placed.present();
    let length = placed.content_length();
    let head = placed.split_head(buf);
    // The target now lies in `head`, where a later refusal reads it.
    let refuse = |error| Refusal {
        error,
        family: family_of(target_place.clone().and_then(|place| text_at(&head, place))),
    };
    let mut headers = placed
        .take(&head)
        .map_err(|field| refuse(malformed(field)))?;
    let controls = controls
        .try_map(|place| HeaderValue::from_maybe_shared(head.slice(place)))
        .map_err(|_| refuse(bad("a header value is malformed")))?;
    // A slice of the head, not a copy: the upstream's URI shares it too.
    let uri = target_place
        .clone()
        .and_then(|place| Uri::from_maybe_shared(head.slice(place)).ok())
        .ok_or_else(|| refuse(bad("the request target is malformed")))?;
    let (framing, reframed) =
        body_framing(version, &mut headers, present, length).map_err(refuse)?;
    let options = match present.connection {
        true => ConnectionOptions::of(&headers),
        false => ConnectionOptions::default(),
    };
    let keep_alive = !reframed
        && match version {
            Version::HTTP_11 => !options.close,
            _ => options.keep_alive,
        };
    let upgrade = version == Version::HTTP_11 && options.upgrade;
    let expects_continue = version == Version::HTTP_11
        && present.expect
        && headers
            .get(header::EXPECT)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.method = method;
    parts.uri = uri;
    parts.version = version;
    parts.headers = headers;
    Ok(Some(RequestHead {
        parts,
        controls,
        framing,
        keep_alive,
        expects_continue,
        upgrade,
    }))
}

/// The text of `head` at `place`, when it is text.
fn text_at(head: &[u8], place: Range<usize>) -> Option<&str> {
    std::str::from_utf8(head.get(place)?).ok()
}

/// The API family of a request target's path, in origin form
/// (`/v1/messages?x`) or absolute form (`http://host/v1/messages`);
/// OpenAI's when the target was not read.
fn family_of(target: Option<&str>) -> Family {
    let Some(target) = target else {
        return Family::OpenAi;
    };
    let path = if target.starts_with('/') {
        target
    } else {
        target
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
            .unwrap_or("/")
    };
    classify(&path[..path.find('?').unwrap_or(path.len())])
}

/// Leaves Host and the control fields out of `placed`, so that neither
/// goes into the header map: Host names this proxy (the upstream hop sets
/// its own), and control fields are for it alone. Returns the controls,
/// with where their values lie, and the Host fields there were.
fn leave_out_host_and_controls(placed: &mut PlacedFields) -> (Controls<Range<usize>>, Hosts) {
    let mut controls = Controls::default();
    let mut hosts = Hosts::None;
    placed.leave_out(|name, place| {
        let control = is_control(name);
        if control {
            controls.note(name, place.clone());
        }
        let host = name == header::HOST;
        if host {
            hosts = match hosts {
                Hosts::None => Hosts::One(place.clone()),
                _ => Hosts::Many,
            };
        }
        control || host
    });
    (controls, hosts)
}

/// The Host fields of a head: none, one with where its value lies, or
/// more.
enum Hosts {
    None,
    One(Range<usize>),
    Many,
}

/// RFC 9112 section 3.2: an HTTP/1.1 request names its host exactly once,
/// no request names it twice, and the value is a host and optional port.
/// Such a request is refused, not guessed at: servers and caches behind
/// the upstream may each pick another Host, or read a malformed one their
/// own way.
fn check_host(version: Version, hosts: Hosts, head: &[u8]) -> Result<(), ProxyError> {
    match hosts {
        Hosts::One(place) if head.get(place.clone()).is_some_and(is_valid_host) => Ok(()),
        Hosts::One(_) => Err(bad(
            "the request's Host header is not a host and optional port: send one naming the proxy's host and port",
        )),
        Hosts::None if version == Version::HTTP_10 => Ok(()),
        Hosts::None => Err(bad(
            "the request has no Host header, which HTTP/1.1 requires: send one naming the proxy's host and port",
        )),
        Hosts::Many => Err(bad(
            "the request has more than one Host header: send exactly one",
        )),
    }
}

/// The options a request's `Connection` header lists, read in one pass.
#[derive(Default)]
struct ConnectionOptions {
    close: bool,
    keep_alive: bool,
    upgrade: bool,
}

impl ConnectionOptions {
    fn of(headers: &HeaderMap) -> ConnectionOptions {
        let mut options = ConnectionOptions::default();
        for option in list_items(headers, header::CONNECTION) {
            options.close |= option.eq_ignore_ascii_case("close");
            options.keep_alive |= option.eq_ignore_ascii_case("keep-alive");
            options.upgrade |= option.eq_ignore_ascii_case("upgrade");
        }
        options
    }
}

/// RFC 9112 section 6.3 for requests: chunked alone, or a length, or no
/// body. `true` beside the framing when a `content-length` was dropped
/// for `transfer-encoding`: such a message may have been built to be read
/// two ways, so its connection carries nothing after it.
fn body_framing(
    version: Version,
    headers: &mut HeaderMap,
    present: Present,
    length: ContentLength,
) -> Result<(Framing, bool), ProxyError> {
    if present.transfer_encoding {
        if version == Version::HTTP_10 {
            return Err(bad("transfer-encoding is not allowed in HTTP/1.0"));
        }
        match transfer_codings(headers) {
            TransferCodings::Chunked => {}
            // The body goes on de-chunked, without its `transfer-encoding`:
            // another coding would be lost, and the upstream would read the
            // coded body as plain (RFC 9112 section 6.1).
            TransferCodings::OthersThenChunked => {
                return Err(ProxyError::unsupported_transfer_coding())
            }
            _ => {
                return Err(bad(
                    "the request body's transfer-encoding must end with chunked, given once",
                ))
            }
        }
        let reframed = headers.remove(header::CONTENT_LENGTH).is_some();
        return Ok((Framing::chunked(), reframed));
    }
    let length = length.map_err(bad)?;
    Ok((Framing::Length(length.unwrap_or(0)), false))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::proxy::wire::upgrade::UpgradeRequested;

    fn parse(wire: &str) -> Result<Option<RequestHead>, ProxyError> {
        parse_request(&mut BytesMut::from(wire)).map_err(|refusal| refusal.error)
    }

    fn head(wire: &str) -> RequestHead {
        parse(wire).unwrap().unwrap()
    }

    #[test]
    fn a_target_the_uri_parser_refuses_is_a_bad_request() {
        let Err(error) = parse("GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n") else {
            panic!("an unclosed IPv6 literal was taken");
        };
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(
            error.message.contains("request target"),
            "{}",
            error.message
        );
        let absolute = head("GET http://example.com/v1/models?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            absolute.parts.uri.path_and_query().map(|pq| pq.as_str()),
            Some("/v1/models?x=1")
        );
    }

    #[test]
    fn a_head_is_taken_off_the_buffer_with_its_fields_in_order() {
        let mut buf = BytesMut::from(
            &b"\r\nPOST /v1/chat?x=1 HTTP/1.1\r\nHost: p\r\nx-a: 1\r\nX-A: 2\r\n\
               x-latin: caf\xe9\r\ncontent-length: 2\r\n\r\n{}GET"[..],
        );
        let parsed = parse_request(&mut buf).unwrap().unwrap();
        assert_eq!(parsed.parts.method, Method::POST);
        assert_eq!(parsed.parts.uri, "/v1/chat?x=1");
        let values: Vec<_> = parsed.parts.headers.get_all("x-a").iter().collect();
        assert_eq!(values, ["1", "2"]);
        assert_eq!(parsed.parts.headers["x-latin"].as_bytes(), b"caf\xe9");
        assert!(matches!(parsed.framing, Framing::Length(2)));
        assert!(parsed.keep_alive);
        assert_eq!(&buf[..], b"{}GET", "the body and what follows stay");
        assert!(parse("GET / HTTP/1.1\r\nHost: x\r\n").unwrap().is_none());
    }

    #[test]
    fn control_fields_and_host_stay_out_of_the_map() {
        let parsed = head(
            "POST / HTTP/1.1\r\nHost: p\r\nX-Headroom-Upstream: http://a.example/v1\r\n\
             x-headroom-trace: 1\r\nx-api-key: k\r\nx-headroom-upstream: http://b\r\n\
             X-Headroom-Provider: groq\r\n\r\n",
        );
        let names: Vec<_> = parsed.parts.headers.keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["x-api-key"]);
        let controls = parsed.controls;
        assert_eq!(controls.count, 4);
        assert_eq!(controls.provider, Some(HeaderValue::from_static("groq")));
        assert!(!controls.provider_repeated);
        assert!(controls.upstream_repeated);
        assert_eq!(
            controls.upstream,
            Some(HeaderValue::from_static("http://a.example/v1"))
        );
        let single =
            head("GET / HTTP/1.1\r\nHost: p\r\nx-headroom-upstream: http://a\r\n\r\n").controls;
        assert_eq!((single.count, single.upstream_repeated), (1, false));
        let none = head("GET / HTTP/1.1\r\nHost: p\r\n\r\n").controls;
        assert_eq!((none.count, none.upstream), (0, None));
    }

    #[test]
    fn an_http_11_request_names_its_host_once_and_none_twice() {
        let refusal = |wire: &str| parse(wire).err().map(|e| (e.status.as_u16(), e.message));
        let (status, message) = refusal("GET /v1/models HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(status, 400);
        assert!(message.contains("no Host header"), "{message}");
        for twice in [
            "GET /v1/models HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
            "GET /v1/models HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n",
        ] {
            let (status, message) = refusal(twice).unwrap();
            assert_eq!(status, 400, "{twice:?}");
            assert!(message.contains("more than one Host"), "{message}");
        }
        assert!(head("GET /v1/models HTTP/1.0\r\n\r\n")
            .parts
            .headers
            .is_empty());
        assert!(parse("GET /v1/models HTTP/1.1\r\nhost: a\r\n\r\n").is_ok());
    }

    #[test]
    fn a_host_that_is_not_a_host_and_port_is_refused() {
        for host in ["a b", "a/b", "user@a", "a:port", "a:70000", "[::1"] {
            let wire = format!("GET /v1/models HTTP/1.1\r\nHost: {host}\r\n\r\n");
            let Err(error) = parse(&wire) else {
                panic!("taken: {host:?}");
            };
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{host:?}");
            assert!(error.message.contains("Host header"), "{}", error.message);
        }
        for host in ["127.0.0.1:8787", "[::1]:8787", "localhost", ""] {
            let wire = format!("GET /v1/models HTTP/1.0\r\nHost: {host}\r\n\r\n");
            assert!(parse(&wire).is_ok(), "{host:?}");
        }
    }

    #[test]
    fn the_connection_is_kept_as_the_version_and_connection_header_say() {
        assert!(!head("GET / HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        let expect =
            "POST / HTTP/1.1\r\nHost: p\r\nExpect: 100-Continue\r\ncontent-length: 1\r\n\r\n";
        assert!(head(expect).expects_continue);
        assert!(!head("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expects_continue);
    }

    #[test]
    fn an_upgrade_is_asked_by_connection_and_one_upgrade_on_http_11() {
        let protocol = |wire: &str| {
            let head = head(wire);
            let asked = head
                .upgrade
                .then(|| UpgradeRequested::named(&head.parts.headers));
            asked.flatten().map(|asked| asked.0)
        };
        let asked =
            "GET / HTTP/1.1\r\nHost: p\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n";
        assert_eq!(
            protocol(asked),
            Some(http::HeaderValue::from_static("websocket"))
        );
        assert!(head(asked).keep_alive);
        for unasked in [
            "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: p\r\nConnection: keep-alive\r\nUpgrade: websocket\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: p\r\nConnection: upgrade\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: p\r\nConnection: upgrade\r\nUpgrade: websocket\r\nUpgrade: h2c\r\n\r\n",
        ] {
            assert_eq!(protocol(unasked), None, "{unasked:?}");
        }
    }

    #[test]
    fn chunked_wins_over_a_length_and_spends_the_connection() {
        let both = head(
            "POST / HTTP/1.1\r\nHost: p\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n",
        );
        assert!(matches!(both.framing, Framing::Chunked(_)));
        assert!(!both.parts.headers.contains_key("content-length"));
        assert!(!both.keep_alive);
        let chunked = head("POST / HTTP/1.1\r\nHost: p\r\ntransfer-encoding: , Chunked\r\n\r\n");
        assert!(matches!(chunked.framing, Framing::Chunked(_)));
        assert!(chunked.keep_alive);
    }

    #[test]
    fn a_transfer_coding_other_than_chunked_is_not_implemented() {
        for codings in ["gzip, chunked", "gzip\r\ntransfer-encoding: chunked"] {
            let wire = format!(
                "POST /v1/messages HTTP/1.1\r\nHost: p\r\ntransfer-encoding: {codings}\r\n\r\n"
            );
            let refusal = parse_request(&mut BytesMut::from(wire.as_str())).err();
            let refusal = refusal.unwrap_or_else(|| panic!("taken: {codings:?}"));
            assert_eq!(refusal.error.status, StatusCode::NOT_IMPLEMENTED);
            assert_eq!(refusal.family, Family::Anthropic);
            assert!(
                refusal.error.message.contains("chunked"),
                "{}",
                refusal.error.message
            );
        }
        let twice = "POST / HTTP/1.1\r\nHost: p\r\ntransfer-encoding: chunked, chunked\r\n\r\n";
        assert_eq!(parse(twice).err().map(|e| e.status.as_u16()), Some(400));
    }

    #[test]
    fn ambiguous_or_malformed_heads_are_refused() {
        let bad = |wire: &str| parse(wire).err().map(|refusal| refusal.status.as_u16());
        let post = "POST / HTTP/1.1\r\nHost: x\r\n";
        for extra in [
            "content-length: 2\r\ncontent-length: 3\r\n",
            "content-length: 2, 3\r\n",
            "content-length: +2\r\n",
            "transfer-encoding: gzip\r\n",
            "transfer-encoding: chunked, identity\r\n",
            "x bad: 1\r\n",
            "content-length : 2\r\n",
            "x-a: 1\r\n folded: 2\r\n",
            "no-colon\r\n",
            "x-a: a\0b\r\n",
            "x-a: a\rb\r\n",
        ] {
            assert_eq!(bad(&format!("{post}{extra}\r\n")), Some(400), "{extra:?}");
        }
        assert_eq!(
            bad("POST / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n"),
            Some(400)
        );
        assert_eq!(bad("GET /a b HTTP/1.1\r\n\r\n"), Some(400));
        assert_eq!(bad("GET / HTTP/7.1\r\n\r\n"), Some(400));
        let many: String = (0..=MAX_FIELDS).map(|i| format!("x-{i}: 1\r\n")).collect();
        assert_eq!(bad(&format!("{post}{many}\r\n")), Some(431));
        let huge = format!("{post}x-big: {}", "a".repeat(MAX_HEAD));
        assert_eq!(bad(&huge), Some(431));
    }

    #[test]
    fn the_head_limit_holds_for_a_head_read_whole() {
        let post = "POST / HTTP/1.1\r\nHost: x\r\n";
        let sized = |len: usize| {
            let fill = len - post.len() - "x-big: \r\n\r\n".len();
            format!("{post}x-big: {}\r\n\r\n", "a".repeat(fill))
        };
        assert!(parse(&sized(MAX_HEAD)).unwrap().is_some());
        for len in [MAX_HEAD + 1, 100 * 1024] {
            let Err(refusal) = parse(&sized(len)) else {
                panic!("a whole head of {len} bytes was taken");
            };
            assert_eq!(refusal.status, 431);
            assert_eq!(refusal.message, "the request head is larger than 64 KiB");
        }
    }

    #[test]
    fn a_refusal_knows_the_family_of_the_path_it_read() {
        let family = |wire: &str| match parse_request(&mut BytesMut::from(wire)) {
            Err(refusal) => refusal.family,
            Ok(_) => panic!("taken: {wire}"),
        };
        let conflicting = "Host: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n";
        let many: String = (0..=MAX_FIELDS).map(|i| format!("x-{i}: 1\r\n")).collect();
        let huge = format!("x-big: {}", "a".repeat(MAX_HEAD));
        for rest in [
            conflicting,
            "transfer-encoding: identity\r\n\r\n",
            &many,
            &huge,
        ] {
            for (target, want) in [
                ("/v1/messages", Family::Anthropic),
                ("/v1/messages?beta=true", Family::Anthropic),
                ("http://h:1/v1/messages", Family::Anthropic),
                ("/v1beta/models/g:generateContent", Family::Gemini),
                ("/v1beta?x", Family::Gemini),
                ("/v1/chat/completions", Family::OpenAi),
                ("http://h:1", Family::OpenAi),
            ] {
                let wire = format!("POST {target} HTTP/1.1\r\n{rest}");
                assert_eq!(family(&wire), want, "{target}");
            }
        }
        assert_eq!(
            family("GET\x01 /v1/messages HTTP/1.1\r\n\r\n"),
            Family::OpenAi
        );
    }
}
