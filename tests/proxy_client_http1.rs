//! The client-facing HTTP/1.1 server, black-box over raw TCP: keep-alive,
//! pipelining, HTTP/1.0 and `Connection: close`, HEAD, `Expect:
//! 100-continue`, chunked bodies both ways, `/health`'s head, clients that
//! give up mid-head, and a refused upload. Every response is read by a
//! small reader of its own (status line, headers, then the body by
//! content-length, chunked or until close), so that framing mistakes show
//! as a wrong body or a desynchronised next response rather than being
//! smoothed over by an HTTP library.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::target;

/// How long any one read may wait before the test calls the proxy stuck.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a read got no bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The proxy closed the connection cleanly (FIN).
    Eof,
    /// The connection was reset (or another I/O error).
    Reset(ErrorKind),
    /// Nothing arrived within the read timeout.
    Quiet,
}

/// How a response's body was framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body by rule: HEAD, 1xx, 204, 304.
    None,
    Length(usize),
    /// Chunked, with how many data chunks came.
    Chunked(usize),
    /// Neither: read until the proxy closed.
    UntilClose,
}

/// A response head: version, status, and headers (names lower-cased).
type Head = (String, u16, Vec<(String, String)>);

/// One parsed response.
#[derive(Debug)]
struct Reply {
    version: String,
    status: u16,
    /// Names lower-cased, in the order sent.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    framing: Framing,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// True when a `connection` header lists `token`.
    fn connection_has(&self, token: &str) -> bool {
        self.all("connection")
            .iter()
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// Status, framing and headers, for the log.
    fn summary(&self) -> String {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect();
        format!(
            "{} {} {:?} [{}] {} body bytes",
            self.version,
            self.status,
            self.framing,
            headers.join("; "),
            self.body.len()
        )
    }
}

/// A client connection to the proxy, with the bytes read past the last
/// response kept for the next one (pipelined responses arrive together).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect to the proxy");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("set a read timeout");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the proxy");
        self.stream.flush().expect("flush");
    }

    /// Reads once more into the buffer.
    fn fill(&mut self) -> Result<usize, Stop> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(Stop::Eof),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(Stop::Quiet)
            }
            Err(e) => Err(Stop::Reset(e.kind())),
        }
    }

    /// The next line, without its CRLF.
    fn line(&mut self) -> String {
        loop {
            if let Some(at) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..at]).into_owned();
                self.buf.drain(..at + 2);
                return line;
            }
            if let Err(stop) = self.fill() {
                panic!("{stop:?} in the middle of a line: {:?}", self.shown());
            }
        }
    }

    /// Exactly `n` more bytes.
    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            if let Err(stop) = self.fill() {
                panic!(
                    "{stop:?} after {} of {n} body bytes: {:?}",
                    self.buf.len(),
                    self.shown()
                );
            }
        }
        self.buf.drain(..n).collect()
    }

    /// A response head: version, status and headers; or why none came.
    fn try_head(&mut self) -> Result<Head, Stop> {
        let end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at;
            }
            self.fill()?;
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut words = status_line.splitn(3, ' ');
        let version = words.next().unwrap_or_default().to_string();
        assert!(
            version.starts_with("HTTP/1."),
            "not a status line: {status_line:?}"
        );
        let status = words
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {status_line:?}"));
        let headers = lines
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("a header line without a colon: {line:?}"));
                (name.trim().to_ascii_lowercase(), value.trim().to_string())
            })
            .collect();
        Ok((version, status, headers))
    }

    /// The next response in full. `head_request` says the request was HEAD,
    /// so that no body follows whatever the headers say.
    fn response(&mut self, head_request: bool) -> Reply {
        let (version, status, headers) = self
            .try_head()
            .unwrap_or_else(|stop| panic!("no response head ({stop:?}): {:?}", self.shown()));
        let mut reply = Reply {
            version,
            status,
            headers,
            body: Vec::new(),
            framing: Framing::None,
        };
        let chunked = reply
            .all("transfer-encoding")
            .iter()
            .any(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = reply.header("content-length").map(|v| {
            v.parse::<usize>()
                .unwrap_or_else(|_| panic!("bad content-length {v:?}"))
        });
        if head_request || status < 200 || status == 204 || status == 304 {
            return reply;
        }
        if chunked {
            let mut chunks = 0;
            loop {
                let size_line = self.line();
                let size = size_line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size, 16)
                    .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
                if size == 0 {
                    // Trailers, up to the blank line.
                    while !self.line().is_empty() {}
                    break;
                }
                chunks += 1;
                let data = self.take(size + 2);
                assert_eq!(&data[size..], b"\r\n", "a chunk not ended by CRLF");
                reply.body.extend_from_slice(&data[..size]);
            }
            reply.framing = Framing::Chunked(chunks);
        } else if let Some(length) = length {
            reply.body = self.take(length);
            reply.framing = Framing::Length(length);
        } else {
            loop {
                match self.fill() {
                    Ok(_) => {}
                    Err(Stop::Eof) => break,
                    Err(stop) => panic!(
                        "{stop:?} before the close that ends a body of unknown length, after {:?}",
                        self.shown()
                    ),
                }
            }
            reply.body = std::mem::take(&mut self.buf);
            reply.framing = Framing::UntilClose;
        }
        reply
    }

    /// What follows once a response is done, within `wait`: `Quiet` when the
    /// connection stays open and silent.
    fn after(&mut self, wait: Duration) -> Result<Vec<u8>, Stop> {
        if !self.buf.is_empty() {
            return Ok(std::mem::take(&mut self.buf));
        }
        self.stream.set_read_timeout(Some(wait)).expect("timeout");
        let got = self.fill().map(|_| std::mem::take(&mut self.buf));
        self.stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("timeout");
        got
    }

    /// The buffered bytes as text, for failure messages.
    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `GET path HTTP/1.1` with a host and `extra` header lines.
fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: proxy\r\n{extra}\r\n")
}

/// `POST path HTTP/1.1` with a content-length body.
fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The events the mock's `/sse?events=N` route sends, concatenated.
fn sse_events(n: usize) -> String {
    (0..n).map(|i| format!("data: {{\"n\":{i}}}\n\n")).collect()
}

/// The mock answers unknown paths with `{"ok":true,"path":PATH}`.
fn assert_mock_json(reply: &Reply, path: &str) {
    assert_eq!(reply.status, 200, "{}", reply.summary());
    let json = reply.json();
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["path"], path, "{json}");
}

/// Keep-alive is HTTP/1.1's default: requests sent one after another on
/// one connection (GET, a POST with a body, GET) are each answered, the
/// connection is never marked for closing, and each reaches the upstream.
#[test]
fn requests_one_after_another_share_a_kept_alive_connection() {
    let t = target();
    let mut conn = Conn::open(t.proxy.addr);
    let steps = [
        ("/v1/h1/first", get("/v1/h1/first", "")),
        ("/v1/h1/second", post("/v1/h1/second", "{\"two\":2}")),
        ("/v1/h1/third", get("/v1/h1/third", "")),
    ];
    for (path, request) in &steps {
        conn.send(request.as_bytes());
        let reply = conn.response(false);
        eprintln!("keep-alive: {path} -> {}", reply.summary());
        assert_mock_json(&reply, path);
        assert_eq!(reply.version, "HTTP/1.1");
        assert!(!reply.connection_has("close"), "{}", reply.summary());
        assert!(
            matches!(reply.framing, Framing::Length(_) | Framing::Chunked(_)),
            "a kept-alive response must be self-delimited: {:?}",
            reply.framing
        );
    }
    let seen: Vec<String> = t.mock.requests().iter().map(|r| r.target.clone()).collect();
    eprintln!("keep-alive: the mock saw {seen:?}");
    assert_eq!(seen, ["/v1/h1/first", "/v1/h1/second", "/v1/h1/third"]);
    assert_eq!(&t.mock.requests()[1].body[..], b"{\"two\":2}");
    // Still open and idle.
    assert_eq!(conn.after(Duration::from_millis(300)), Err(Stop::Quiet));
}

/// Three requests in one write are answered in order, each whole. The
/// first is a slow stream from the upstream and the second is answered by
/// the proxy itself, so answering them concurrently, or reading the second
/// as part of the first's framing, would show.
#[test]
fn pipelined_requests_are_answered_in_order_each_complete() {
    let t = target();
    let mut conn = Conn::open(t.proxy.addr);
    let batch = format!(
        "{}{}{}",
        get("/v1/h1/sse?events=3&gap_ms=150", ""),
        get("/health", ""),
        post("/v1/h1/third", "{\"third\":true}")
    );
    let started = Instant::now();
    conn.send(batch.as_bytes());
    let first = conn.response(false);
    eprintln!(
        "pipelining: 1 after {:?}: {} {:?}",
        started.elapsed(),
        first.summary(),
        first.text()
    );
    assert_eq!(first.status, 200);
    assert_eq!(first.text(), sse_events(3));
    let second = conn.response(false);
    eprintln!("pipelining: 2: {} {}", second.summary(), second.text());
    assert_eq!(second.status, 200);
    assert_eq!(second.json()["status"], "ok");
    let third = conn.response(false);
    eprintln!("pipelining: 3: {} {}", third.summary(), third.text());
    assert_mock_json(&third, "/v1/h1/third");
    assert_eq!(conn.after(Duration::from_millis(300)), Err(Stop::Quiet));
    let seen: Vec<String> = t.mock.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(seen, ["/v1/h1/sse?events=3&gap_ms=150", "/v1/h1/third"]);
    assert_eq!(&t.mock.requests()[1].body[..], b"{\"third\":true}");
}

/// An HTTP/1.0 client without keep-alive gets its response and then the
/// close. A body of unknown length (the mock's SSE stream) cannot be sent
/// chunked to it, since 1.0 has no chunked coding: it must come raw, ended
/// by the close, with every byte there.
#[test]
fn an_http_1_0_client_gets_its_response_then_the_close_and_never_chunks() {
    let t = target();

    let mut conn = Conn::open(t.proxy.addr);
    conn.send(b"GET /v1/h1/old HTTP/1.0\r\nHost: proxy\r\n\r\n");
    let reply = conn.response(false);
    let after = conn.after(Duration::from_secs(2));
    eprintln!("HTTP/1.0 sized: {} then {after:?}", reply.summary());
    assert_mock_json(&reply, "/v1/h1/old");
    assert!(reply.version.starts_with("HTTP/1."));
    assert!(!reply.connection_has("keep-alive"), "{}", reply.summary());
    assert!(
        reply.header("transfer-encoding").is_none(),
        "{}",
        reply.summary()
    );
    assert_eq!(after, Err(Stop::Eof), "the connection was not closed");

    let mut conn = Conn::open(t.proxy.addr);
    conn.send(b"GET /v1/h1/sse?events=4&gap_ms=50 HTTP/1.0\r\nHost: proxy\r\n\r\n");
    let reply = conn.response(false);
    eprintln!(
        "HTTP/1.0 streamed: {} body {:?}",
        reply.summary(),
        reply.text()
    );
    assert_eq!(reply.status, 200);
    assert!(
        reply.header("transfer-encoding").is_none(),
        "chunked to an HTTP/1.0 client: {}",
        reply.summary()
    );
    assert!(!reply.connection_has("keep-alive"), "{}", reply.summary());
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    // `response` read it to the close; a length, if one was sent, must be
    // the true one.
    assert!(
        matches!(reply.framing, Framing::UntilClose | Framing::Length(_)),
        "{:?}",
        reply.framing
    );
    assert_eq!(reply.text(), sse_events(4));
    if reply.framing != Framing::UntilClose {
        assert_eq!(conn.after(Duration::from_secs(2)), Err(Stop::Eof));
    }
}

/// `Connection: close` from an HTTP/1.1 client: the response says
/// `connection: close` and the connection ends after it, whether the body
/// was sized (a forwarded JSON answer) or streamed (SSE).
#[test]
fn connection_close_from_a_1_1_client_is_honoured_and_announced() {
    let t = target();
    for path in ["/v1/h1/closing", "/v1/h1/sse?events=3&gap_ms=30"] {
        let mut conn = Conn::open(t.proxy.addr);
        conn.send(get(path, "Connection: close\r\n").as_bytes());
        let reply = conn.response(false);
        let after = conn.after(Duration::from_secs(2));
        eprintln!(
            "connection close: {path} -> {} then {after:?}",
            reply.summary()
        );
        assert_eq!(reply.status, 200);
        assert!(
            reply.connection_has("close"),
            "no connection: close in {}",
            reply.summary()
        );
        if path.contains("sse") {
            assert_eq!(reply.text(), sse_events(3));
        } else {
            assert_mock_json(&reply, path);
        }
        assert_eq!(after, Err(Stop::Eof), "the connection stayed open");
    }
}

/// HEAD: the upstream's content-length comes through but no body bytes do,
/// and the connection goes on to serve a GET whose response parses from
/// its first byte.
#[test]
fn head_gets_no_body_and_the_connection_serves_the_next_request() {
    let t = target();
    let mut conn = Conn::open(t.proxy.addr);
    conn.send(b"HEAD /v1/h1/big?bytes=1000 HTTP/1.1\r\nHost: proxy\r\n\r\n");
    let head = conn.response(true);
    let after = conn.after(Duration::from_millis(500));
    eprintln!("HEAD: {} then {after:?}", head.summary());
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("1000"));
    assert!(
        head.header("transfer-encoding").is_none(),
        "{}",
        head.summary()
    );
    assert_eq!(after, Err(Stop::Quiet), "bytes (or a close) after HEAD");
    assert_eq!(t.mock.last().method, http::Method::HEAD);

    conn.send(get("/v1/h1/after-head", "").as_bytes());
    let next = conn.response(false);
    eprintln!("after HEAD: {}", next.summary());
    assert_mock_json(&next, "/v1/h1/after-head");
}

/// `Expect: 100-continue`: a client that waits for the interim answer
/// before sending its body gets `100 Continue` within 2 s, then the final
/// 200, and the upstream receives the whole body.
#[test]
fn expect_100_continue_gets_the_interim_answer_before_the_body() {
    let t = target();
    let body: String = (0..4000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let mut conn = Conn::open(t.proxy.addr);
    conn.send(
        format!(
            "POST /v1/h1/expecting HTTP/1.1\r\nHost: proxy\r\nContent-Type: text/plain\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    conn.stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let started = Instant::now();
    let interim = conn.try_head();
    eprintln!("100-continue: after {:?}: {interim:?}", started.elapsed());
    let (version, status, _) = interim.expect("no interim answer within 2 s");
    assert_eq!((version.as_str(), status), ("HTTP/1.1", 100));
    assert!(t.mock.requests().is_empty(), "forwarded before the body");
    conn.stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();

    conn.send(body.as_bytes());
    let reply = conn.response(false);
    eprintln!("100-continue: final {}", reply.summary());
    assert_mock_json(&reply, "/v1/h1/expecting");
    let seen = t.mock.last();
    assert_eq!(seen.body_len, body.len());
    assert_eq!(&seen.body[..], body.as_bytes());
}

/// A chunked request body, sent in several writes with a chunk extension,
/// an upper-case hex size and a trailer, reaches the upstream whole and
/// de-chunked; and the connection then serves another request, so the
/// body's end was found exactly.
#[test]
fn a_chunked_request_body_reaches_the_upstream_whole() {
    let t = target();
    let mut conn = Conn::open(t.proxy.addr);
    let parts: [&[u8]; 5] = [
        b"POST /v1/h1/chunked HTTP/1.1\r\nHost: proxy\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"5\r\nhello\r\n",
        b"1;note=space\r\n \r\n",
        b"A\r\nchunked!!!\r\n",
        b"4\r\n end\r\n0\r\nx-trailer: 1\r\n\r\n",
    ];
    for part in parts {
        conn.send(part);
        std::thread::sleep(Duration::from_millis(30));
    }
    let reply = conn.response(false);
    eprintln!("chunked upload: {} {}", reply.summary(), reply.text());
    assert_mock_json(&reply, "/v1/h1/chunked");
    let seen = t.mock.last();
    eprintln!(
        "chunked upload: the mock saw {:?}, te {:?}, length {:?}",
        String::from_utf8_lossy(&seen.body),
        seen.header("transfer-encoding"),
        seen.header("content-length")
    );
    assert_eq!(&seen.body[..], b"hello chunked!!! end");
    assert_eq!(seen.body_len, 20);

    conn.send(get("/v1/h1/after-chunked", "").as_bytes());
    let next = conn.response(false);
    assert_mock_json(&next, "/v1/h1/after-chunked");
}

/// An upstream body of unknown length reaches an HTTP/1.1 client chunked,
/// decodes to exactly the events the mock sent, and leaves the connection
/// usable.
#[test]
fn an_unknown_length_stream_reaches_a_1_1_client_chunked() {
    let t = target();
    let mut conn = Conn::open(t.proxy.addr);
    conn.send(get("/v1/h1/sse?events=6&gap_ms=40", "").as_bytes());
    let reply = conn.response(false);
    eprintln!("SSE to 1.1: {} {:?}", reply.summary(), reply.text());
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert!(
        matches!(reply.framing, Framing::Chunked(n) if n >= 1),
        "{}",
        reply.summary()
    );
    assert!(reply.header("content-length").is_none());
    assert_eq!(reply.text(), sse_events(6));

    conn.send(get("/health", "").as_bytes());
    let next = conn.response(false);
    assert_eq!(next.json()["status"], "ok");
}

/// `GET /health` is sized (content-length equal to the body), typed
/// application/json and dated; a forwarded response carries the upstream's
/// date and no second one.
#[test]
fn health_is_sized_typed_and_dated() {
    let t = target();
    let mut conn = Conn::open(t.proxy.addr);
    conn.send(get("/health", "").as_bytes());
    let reply = conn.response(false);
    eprintln!("health: {} {}", reply.summary(), reply.text());
    assert_eq!(reply.status, 200);
    assert_eq!(reply.framing, Framing::Length(reply.body.len()));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json()["status"], "ok");
    let dates = reply.all("date");
    assert_eq!(dates.len(), 1, "{}", reply.summary());
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
    assert_eq!(dates[0].len(), 29, "{:?}", dates[0]);
    assert!(dates[0].ends_with(" GMT"), "{:?}", dates[0]);

    conn.send(get("/v1/h1/dated", "").as_bytes());
    let forwarded = conn.response(false);
    eprintln!("forwarded: {}", forwarded.summary());
    assert_mock_json(&forwarded, "/v1/h1/dated");
    assert_eq!(forwarded.all("date").len(), 1, "{}", forwarded.summary());
}

/// Clients that give up part-way (in the request line, in the headers, in
/// a declared body) disturb nothing: the partial heads are never forwarded
/// and a new connection is served.
#[test]
fn a_client_that_closes_mid_head_does_not_disturb_the_proxy() {
    let t = target();
    // Closed within the request line.
    let mut conn = Conn::open(t.proxy.addr);
    conn.send(b"GET /v1/h1/partial-line HT");
    drop(conn);
    // Half-closed within the headers: what, if anything, comes back.
    let mut conn = Conn::open(t.proxy.addr);
    conn.send(b"POST /v1/h1/partial-head HTTP/1.1\r\nHost: proxy\r\nContent-Le");
    conn.stream.shutdown(Shutdown::Write).unwrap();
    let answer = conn.after(Duration::from_secs(2));
    eprintln!(
        "mid-head half-close: {:?}",
        answer
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    );
    match answer {
        Err(Stop::Eof) => {}
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            assert!(text.starts_with("HTTP/1.1 4"), "{text}");
        }
        other => panic!("neither a close nor a 4xx: {other:?}"),
    }
    // Closed within a declared body.
    let mut conn = Conn::open(t.proxy.addr);
    conn.send(b"POST /v1/h1/partial-body HTTP/1.1\r\nHost: proxy\r\nContent-Length: 100\r\n\r\n0123456789");
    drop(conn);
    std::thread::sleep(Duration::from_millis(200));

    let mut conn = Conn::open(t.proxy.addr);
    conn.send(get("/v1/h1/after", "").as_bytes());
    let reply = conn.response(false);
    eprintln!("after the give-ups: {}", reply.summary());
    assert_mock_json(&reply, "/v1/h1/after");
    let seen: Vec<String> = t.mock.requests().iter().map(|r| r.target.clone()).collect();
    eprintln!("the mock saw {seen:?}");
    assert!(
        !seen
            .iter()
            .any(|s| s.contains("partial-line") || s.contains("partial-head")),
        "a partial head was forwarded: {seen:?}"
    );
}

/// A refused request with a 1 MiB body actually sent (an
/// `X-Headroom-Upstream` that is not a URL) gets its 400 JSON answer in
/// full while the client is still uploading, the upload is never cut off
/// by a reset, and the connection then serves the next request.
#[test]
fn a_refused_upload_gets_its_400_in_full_without_a_reset() {
    let t = target();
    let size = 1 << 20;
    let mut conn = Conn::open(t.proxy.addr);
    let mut writer = conn.stream.try_clone().unwrap();
    let uploader = std::thread::spawn(move || -> Result<usize, std::io::Error> {
        let head = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nX-Headroom-Upstream: not a url\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
        );
        writer.write_all(head.as_bytes())?;
        let piece = vec![b'x'; 16 * 1024];
        let mut sent = 0;
        while sent < size {
            writer.write_all(&piece)?;
            sent += piece.len();
            // A client still uploading when the answer comes.
            if sent % (256 * 1024) == 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        writer.flush()?;
        Ok(sent)
    });
    let reply = conn.response(false);
    eprintln!("refused upload: {} {}", reply.summary(), reply.text());
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.header("x-headroom-error"),
        Some("bad_upstream_header")
    );
    assert!(
        matches!(reply.framing, Framing::Length(_)),
        "{:?}",
        reply.framing
    );
    let json = reply.json();
    assert_eq!(json["error"]["code"], "bad_upstream_header", "{json}");
    let uploaded = uploader.join().unwrap();
    eprintln!("refused upload: the upload ended with {uploaded:?}");
    assert_eq!(uploaded.expect("the upload was cut off"), size);

    conn.send(get("/health", "").as_bytes());
    let next = conn.response(false);
    eprintln!("after the refused upload: {}", next.summary());
    assert_eq!(next.json()["status"], "ok");
    assert!(
        t.mock.requests().is_empty(),
        "the refused request was forwarded"
    );
}

/// A malformed chunked body (a chunk longer than its size line says, then
/// a request hidden after it) is answered 400 as the client's error, ends
/// the connection since its framing is lost, and the hidden request is
/// neither answered nor forwarded.
#[test]
fn a_malformed_chunked_body_fails_the_request_and_ends_the_connection() {
    let t = target();
    let mut conn = Conn::open(t.proxy.addr);
    conn.send(
        b"POST /v1/h1/bad-chunks HTTP/1.1\r\nHost: proxy\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\n end\r\n0\r\n\r\nGET /v1/h1/smuggled HTTP/1.1\r\nHost: proxy\r\n\r\n",
    );
    // The client's fault, said as such: not a 502 blaming the upstream.
    let (version, status, headers) = conn.try_head().expect("an answer");
    eprintln!("malformed chunks: {version} {status} {headers:?}");
    assert_eq!(status, 400, "{headers:?}");
    let class = headers.iter().find(|(name, _)| name == "x-headroom-error");
    assert_eq!(class.map(|(_, value)| value.as_str()), Some("client_body"));
    // Whatever body the answer had, then the end: never a second response.
    let deadline = Instant::now() + READ_TIMEOUT;
    let end = loop {
        match conn.fill() {
            Ok(_) => assert!(Instant::now() < deadline, "the connection stayed open"),
            Err(stop) => break stop,
        }
    };
    let rest = conn.shown();
    eprintln!("malformed chunks: then {end:?} after {rest:?}");
    assert!(matches!(end, Stop::Eof | Stop::Reset(_)), "{end:?}");
    assert!(!rest.contains("HTTP/1."), "a second response: {rest}");
    let seen: Vec<String> = t.mock.requests().iter().map(|r| r.target.clone()).collect();
    eprintln!("malformed chunks: the mock saw {seen:?}");
    assert!(!seen.iter().any(|s| s.contains("smuggled")), "{seen:?}");
}

/// An HTTP/1.0 client that asks for keep-alive is told it got it (1.0
/// assumes a close otherwise), and its next request is served on the same
/// connection.
#[test]
fn an_http_1_0_client_asking_for_keep_alive_is_told_and_kept() {
    let t = target();
    let mut conn = Conn::open(t.proxy.addr);
    for path in ["/v1/h1/old-first", "/v1/h1/old-second"] {
        conn.send(
            format!("GET {path} HTTP/1.0\r\nHost: proxy\r\nConnection: keep-alive\r\n\r\n")
                .as_bytes(),
        );
        let reply = conn.response(false);
        eprintln!("HTTP/1.0 keep-alive: {}", reply.summary());
        assert_mock_json(&reply, path);
        assert!(reply.connection_has("keep-alive"), "{}", reply.summary());
        assert!(
            matches!(reply.framing, Framing::Length(_)),
            "{:?}",
            reply.framing
        );
    }
}

/// A head the proxy cannot read is answered with a JSON error that says
/// what was wrong (400, or 431 for too many fields), `connection: close`,
/// and the close: where a next request would start is unknown.
#[test]
fn a_malformed_head_gets_a_json_error_and_the_close() {
    let t = target();
    let many: String = (0..200).map(|i| format!("x-h{i}: {i}\r\n")).collect();
    for (what, head, status, says) in [
        (
            "a space in the target",
            "GET /v1/mo dels HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
            400,
            "malformed",
        ),
        (
            "200 header fields",
            format!("GET /v1/models HTTP/1.1\r\n{many}\r\n"),
            431,
            "header fields",
        ),
    ] {
        let mut conn = Conn::open(t.proxy.addr);
        conn.send(head.as_bytes());
        let reply = conn.response(false);
        let after = conn.after(Duration::from_secs(2));
        eprintln!(
            "{what}: {} {:?}, then {after:?}",
            reply.summary(),
            reply.text()
        );
        assert_eq!(reply.status, status, "{what}");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains(says), "{what}: {message}");
        assert!(reply.connection_has("close"), "{what}: {}", reply.summary());
        assert_eq!(after, Err(Stop::Eof), "{what}: the connection stayed open");
    }
    assert!(
        t.mock.requests().is_empty(),
        "a malformed head was forwarded"
    );
}
