//! Faults on either side of the proxy: an upstream that refuses, stays
//! silent, breaks off a stream or answers garbage, and clients that hang
//! up mid-stream, a thousand times over. After each fault a normal request
//! must still succeed, and nothing may leak.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::mock::MockUpstream;
use common::raw::{self, RawUpstream};
use common::{
    client, free_port, request, scaled, send, settles, wait_until, ProxyProcess, TestClient,
};
use http_body_util::BodyExt;

/// A normal request through `proxy` to `mock` that must succeed.
async fn assert_still_serving(client: &TestClient, proxy: &ProxyProcess, mock: &MockUpstream) {
    let upstream = mock.url();
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let reply = send(
        client,
        request("POST", &proxy.url("/v1/chat/completions"), &headers, "{}"),
    )
    .await;
    assert_eq!(reply.status, 200, "after the fault: {}", reply.text());
    assert_eq!(
        reply.json()["choices"][0]["message"]["content"],
        common::mock::REPLY
    );
}

/// A port nothing listens on.
#[tokio::test]
async fn a_refusing_upstream_gives_502_json_then_service_continues() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let client = client();
    let target = format!("http://127.0.0.1:{}", free_port());
    let headers = [("X-Headroom-Upstream", target.as_str())];
    let started = Instant::now();
    for path in [
        "/v1/chat/completions",
        "/v1/messages",
        "/v1beta/models/g:generateContent",
    ] {
        let reply = send(&client, request("POST", &proxy.url(path), &headers, "{}")).await;
        assert_eq!(reply.status, 502, "{path}");
        assert_eq!(reply.headers["content-type"], "application/json");
        assert_eq!(reply.headers["x-headroom-error"], "upstream_connect");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains("could not connect"), "{message}");
    }
    eprintln!(
        "refused: 3 answers of 502 in {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    assert_still_serving(&client, &proxy, &mock).await;
}

#[tokio::test]
async fn an_upstream_that_accepts_and_never_answers_gives_504() {
    let mock = MockUpstream::start();
    let silent = RawUpstream::start(|stream| raw::hold_open(stream, Duration::from_secs(20)));
    let proxy = ProxyProcess::start(&["--connect-timeout", "300ms", "--idle-timeout", "500ms"]);
    let client = client();
    let target = silent.url();
    let headers = [("X-Headroom-Upstream", target.as_str())];
    let started = Instant::now();
    let reply = send(
        &client,
        request("POST", &proxy.url("/v1/messages"), &headers, "{}"),
    )
    .await;
    let waited = started.elapsed();
    eprintln!(
        "silent upstream: {} after {:.0} ms (connect 300 ms + idle 500 ms)",
        reply.status,
        waited.as_secs_f64() * 1000.0
    );
    assert_eq!(reply.status, 504);
    assert_eq!(reply.json()["error"]["type"], "api_error");
    assert_eq!(reply.headers["x-headroom-error"], "upstream_timeout");
    assert_eq!(silent.accepted(), 1);
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_still_serving(&client, &proxy, &mock).await;
}

/// What a client read from a stream: the bytes, and how the stream ended.
struct Read {
    bytes: Vec<u8>,
    end: Result<(), String>,
    took: Duration,
}

async fn read_stream(client: &TestClient, url: &str, upstream: &str) -> Read {
    let started = Instant::now();
    let headers = [("X-Headroom-Upstream", upstream)];
    let response = client
        .request(request("POST", url, &headers, r#"{"stream":true}"#))
        .await
        .expect("response head");
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(10), body.frame()).await {
            Err(_) => panic!("the stream hung"),
            Ok(None) => break Ok(()),
            Ok(Some(Err(e))) => break Err(e.to_string()),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
        }
    };
    Read {
        bytes,
        end,
        took: started.elapsed(),
    }
}

const PARTIAL_EVENTS: &str = "data: {\"n\":0}\n\ndata: {\"n\":1}\n\n";

/// An upstream that starts an SSE answer, sends two events, and closes the
/// connection; `framing` says how the body was delimited.
fn breaking_upstream(framing: &'static str) -> RawUpstream {
    RawUpstream::start(move |mut stream| {
        if raw::read_request(&mut stream).is_none() {
            return;
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n";
        let body = match framing {
            "chunked" => {
                let chunk = format!("{:x}\r\n{PARTIAL_EVENTS}\r\n", PARTIAL_EVENTS.len());
                format!("{head}transfer-encoding: chunked\r\n\r\n{chunk}")
            }
            "length" => format!("{head}content-length: 4096\r\n\r\n{PARTIAL_EVENTS}"),
            _ => format!("{head}connection: close\r\n\r\n{PARTIAL_EVENTS}"),
        };
        let _ = stream.write_all(body.as_bytes());
        let _ = stream.flush();
        std::thread::sleep(Duration::from_millis(50));
    })
}

#[tokio::test]
async fn an_upstream_closing_mid_stream_ends_the_clients_stream_without_a_fake_done() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let client = client();
    for framing in ["chunked", "length"] {
        let upstream = breaking_upstream(framing);
        let read = read_stream(&client, &proxy.url("/v1/chat/completions"), &upstream.url()).await;
        eprintln!(
            "upstream closed mid-stream ({framing}): client got {} bytes, ended {:?} after {:.0} ms",
            read.bytes.len(),
            read.end,
            read.took.as_secs_f64() * 1000.0
        );
        assert_eq!(
            String::from_utf8_lossy(&read.bytes),
            PARTIAL_EVENTS,
            "{framing}"
        );
        assert!(
            read.end.is_err(),
            "{framing}: a broken stream ended as if complete"
        );
        assert!(
            read.took < Duration::from_secs(3),
            "{framing}: {:?}",
            read.took
        );
        assert_still_serving(&client, &proxy, &mock).await;
    }
    // A close-delimited body ends at the close by definition: the client
    // sees a clean end with exactly the bytes sent, and nothing added.
    let upstream = breaking_upstream("close");
    let read = read_stream(&client, &proxy.url("/v1/chat/completions"), &upstream.url()).await;
    assert_eq!(String::from_utf8_lossy(&read.bytes), PARTIAL_EVENTS);
    assert_eq!(read.end, Ok(()));
    assert!(!String::from_utf8_lossy(&read.bytes).contains("[DONE]"));
    assert_still_serving(&client, &proxy, &mock).await;
}

/// An upstream that sends its head and part of its body in one write and
/// closes at once, so that the proxy reads the data and the close together:
/// a `content-length` not reached, or a chunk cut in its middle.
fn cut_at_once_upstream(framing: &'static str) -> RawUpstream {
    RawUpstream::start(move |mut stream| {
        if raw::read_request(&mut stream).is_none() {
            return;
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n";
        let answer = match framing {
            "chunked" => {
                format!("{head}transfer-encoding: chunked\r\n\r\n1000\r\n{PARTIAL_EVENTS}")
            }
            _ => format!("{head}content-length: 4096\r\n\r\n{PARTIAL_EVENTS}"),
        };
        let _ = stream.write_all(answer.as_bytes());
    })
}

/// The data of a chunked body as far as its chunks are whole, and whether
/// the last chunk came.
fn chunked_data(mut body: &[u8]) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    while let Some(line_end) = body.windows(2).position(|pair| pair == b"\r\n") {
        let size = std::str::from_utf8(&body[..line_end])
            .ok()
            .and_then(|line| usize::from_str_radix(line, 16).ok());
        let Some(size) = size else { break };
        if size == 0 {
            return (data, true);
        }
        let Some(chunk) = body.get(line_end + 2..line_end + 2 + size) else {
            break;
        };
        data.extend_from_slice(chunk);
        body = body.get(line_end + 4 + size..).unwrap_or_default();
    }
    (data, false)
}

/// Tries per path and framing, since the race this guards against is lost
/// only some of the time.
const CUT_ATTEMPTS: usize = 10;

#[tokio::test]
async fn an_upstream_closing_right_after_part_of_its_body_still_delivers_that_part() {
    let proxy = ProxyProcess::start(&[]);
    for framing in ["length", "chunked"] {
        let upstream = cut_at_once_upstream(framing);
        for path in ["/v1/chat/completions", "/other"] {
            let request = format!(
                "POST {path} HTTP/1.1\r\nhost: proxy\r\nx-headroom-upstream: {}\r\ncontent-length: 2\r\n\r\n{{}}",
                upstream.url()
            );
            for attempt in 1..=CUT_ATTEMPTS {
                let reply = raw::exchange(proxy.addr, request.as_bytes(), Duration::from_secs(5));
                let what = format!("{framing} {path}, try {attempt}: {:?}", reply.text());
                assert_eq!(reply.status(), Some(200), "{what}");
                assert!(
                    reply.closed,
                    "the proxy kept a cut answer's connection: {what}"
                );
                let text = reply.text();
                let (head, body) = text.split_once("\r\n\r\n").expect("a whole head");
                if framing == "chunked" {
                    let (data, ended) = chunked_data(body.as_bytes());
                    assert_eq!(String::from_utf8_lossy(&data), PARTIAL_EVENTS, "{what}");
                    assert!(!ended, "a cut answer ended as if complete: {what}");
                } else {
                    assert!(head.contains("content-length: 4096"), "{what}");
                    assert_eq!(body, PARTIAL_EVENTS, "{what}");
                }
            }
        }
    }
}

/// Raw answers an HTTP parser must refuse, keyed by request path.
fn malformed_answer(path: &str) -> Vec<u8> {
    match path {
        "/v1/garbage" => b"this is not http\r\n\r\n".to_vec(),
        "/v1/binary" => (0u8..=255).cycle().take(4096).collect(),
        "/v1/bad-status" => b"HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n".to_vec(),
        "/v1/bad-header" => b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n".to_vec(),
        "/v1/two-lengths" => {
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc".to_vec()
        }
        "/v1/huge-head" => {
            let mut head = b"HTTP/1.1 200 OK\r\nx-big: ".to_vec();
            head.extend(std::iter::repeat_n(b'a', 1024 * 1024));
            head.extend_from_slice(b"\r\n\r\n");
            head
        }
        // "/v1/close": no answer at all.
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn a_malformed_upstream_response_gives_502() {
    let mock = MockUpstream::start();
    let broken = RawUpstream::start(|mut stream| {
        let Some(head) = raw::read_request(&mut stream) else {
            return;
        };
        let _ = stream.write_all(&malformed_answer(raw::target(&head)));
        let _ = stream.flush();
        std::thread::sleep(Duration::from_millis(100));
    });
    let proxy = ProxyProcess::start(&["--idle-timeout", "5s"]);
    let client = client();
    let target = broken.url();
    let headers = [("X-Headroom-Upstream", target.as_str())];
    for path in [
        "/v1/garbage",
        "/v1/binary",
        "/v1/bad-status",
        "/v1/bad-header",
        "/v1/two-lengths",
        "/v1/huge-head",
        "/v1/close",
    ] {
        let started = Instant::now();
        let reply = send(&client, request("GET", &proxy.url(path), &headers, "")).await;
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        eprintln!(
            "malformed {path}: {} in {:.0} ms: {message}",
            reply.status,
            started.elapsed().as_secs_f64() * 1000.0
        );
        assert_eq!(reply.status, 502, "{path}: {}", reply.text());
        assert_eq!(
            reply.headers["x-headroom-error"], "upstream_protocol",
            "{path}"
        );
        assert!(
            message.starts_with(&format!("upstream {target} failed: ")),
            "{message}"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{path}");
        assert_still_serving(&client, &proxy, &mock).await;
    }
}

/// A transfer coding other than chunked would be dropped with the rest of
/// `transfer-encoding` as the client's hop is framed anew, leaving the
/// client a body still coded and unlabelled: a 502 says so instead.
#[tokio::test]
async fn an_upstream_transfer_coding_other_than_chunked_gives_502() {
    let mock = MockUpstream::start();
    let coded = RawUpstream::start(|mut stream| {
        let Some(head) = raw::read_request(&mut stream) else {
            return;
        };
        let answer: &[u8] = match raw::target(&head) {
            "/v1/gzip-chunked" => {
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n5\r\n\x1f\x8b\x08\0\0\r\n0\r\n\r\n"
            }
            _ => b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n\x1f\x8b\x08\0\0",
        };
        let _ = stream.write_all(answer);
        let _ = stream.flush();
    });
    let proxy = ProxyProcess::start(&[]);
    let client = client();
    let target = coded.url();
    let headers = [("X-Headroom-Upstream", target.as_str())];
    for path in ["/v1/gzip-chunked", "/v1/gzip"] {
        let reply = send(&client, request("GET", &proxy.url(path), &headers, "")).await;
        eprintln!("{path}: {} {}", reply.status, reply.text());
        assert_eq!(reply.status, 502, "{path}: {}", reply.text());
        assert_eq!(reply.headers["x-headroom-error"], "upstream_protocol");
        let message = reply.json()["error"]["message"].to_string();
        assert!(message.contains("transfer coding"), "{message}");
        assert_still_serving(&client, &proxy, &mock).await;
    }
}

/// Asks for an SSE stream the mock holds open, over a raw connection, and
/// returns the connection once the first event has arrived.
fn open_held_stream(proxy: &ProxyProcess, upstream: &str) -> TcpStream {
    let mut stream = TcpStream::connect(proxy.addr).expect("connect");
    let head = format!(
        "GET /v1/sse?events=1&hold=1 HTTP/1.1\r\nHost: x\r\nX-Headroom-Upstream: {upstream}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("write");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("data: {\"n\":0}") {
        let n = std::io::Read::read(&mut stream, &mut buf).expect("read the first event");
        assert!(n > 0, "closed before the first event");
        seen.extend_from_slice(&buf[..n]);
    }
    stream
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_hanging_up_mid_stream_closes_the_upstream_within_a_second() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let upstream = mock.url();
    let stream = open_held_stream(&proxy, &upstream);
    assert!(mock.cancelled_streams().is_empty());
    drop(stream);
    let closed = Instant::now();
    wait_until(
        Duration::from_secs(5),
        "the upstream stream to be cancelled",
        || !mock.cancelled_streams().is_empty(),
    );
    let after = mock.cancelled_streams()[0].duration_since(closed);
    eprintln!(
        "client hang-up: upstream closed {:.1} ms later",
        after.as_secs_f64() * 1000.0
    );
    assert!(after < Duration::from_secs(1), "{after:?}");
    assert_still_serving(&client(), &proxy, &mock).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_mid_stream_hang_ups_leak_nothing() {
    const PARALLEL: usize = 16;
    let repetitions = scaled(1000);
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let (fds_start, threads_start, rss_start) =
        (proxy.open_fds(), proxy.threads(), proxy.rss_kib());
    let upstream = mock.url();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for worker in 0..PARALLEL {
            let (proxy, upstream) = (&proxy, upstream.as_str());
            scope.spawn(move || {
                for _ in (worker..repetitions).step_by(PARALLEL) {
                    drop(open_held_stream(proxy, upstream));
                }
            });
        }
    });
    let hung_up = started.elapsed();
    settles(Duration::from_secs(10), || {
        mock.cancelled_streams().len() >= repetitions
    });
    let all_cancelled = started.elapsed();
    settles(Duration::from_secs(10), || proxy.open_fds() <= fds_start);
    let (fds_end, threads_end, rss_end) = (proxy.open_fds(), proxy.threads(), proxy.rss_kib());
    eprintln!(
        "{repetitions} hang-ups: done in {:.2}s, {} upstream streams cancelled by {:.2}s; fds {fds_start} -> {fds_end}; threads {threads_start} -> {threads_end}; RSS {rss_start} -> {rss_end} KiB; upstream sockets left {}",
        hung_up.as_secs_f64(),
        mock.cancelled_streams().len(),
        all_cancelled.as_secs_f64(),
        proxy.sockets_to(mock.addr.port()),
    );
    assert!(fds_end <= fds_start, "{} fds leaked", fds_end - fds_start);
    assert_eq!(mock.cancelled_streams().len(), repetitions);
    assert_eq!(
        proxy.sockets_to(mock.addr.port()),
        0,
        "a cut stream's upstream connection stayed open"
    );
    assert!(threads_end <= threads_start + 2);
    assert!(
        rss_end <= rss_start + 16 * 1024,
        "RSS {rss_start} -> {rss_end} KiB"
    );

    // Every exchange was closed (and its task ended) as a client disconnect.
    let client = client();
    let stats = send(&client, request("GET", &proxy.url("/stats"), &[], ""))
        .await
        .json();
    let entry = &stats["upstreams"][0];
    assert_eq!(entry["requests"], repetitions as u64, "{stats}");
    assert_eq!(
        entry["errors"]["client_disconnect"], repetitions as u64,
        "{stats}"
    );
    assert_still_serving(&client, &proxy, &mock).await;
}

#[tokio::test]
async fn a_request_body_cut_off_by_the_client_aborts_the_upstream_request() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let upstream = mock.url();
    // Declares 1 MiB, sends 10 bytes, hangs up.
    let mut stream = TcpStream::connect(proxy.addr).unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Headroom-Upstream: {upstream}\r\ncontent-length: 1048576\r\n\r\n0123456789"
    );
    stream.write_all(head.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    drop(stream);
    // The mock may have seen the head (bodies stream), but never a
    // complete body of the declared size.
    wait_until(
        Duration::from_secs(5),
        "the proxy to drop the upstream request",
        || proxy.sockets_to(mock.addr.port()) == 0,
    );
    for seen in mock.requests() {
        assert!(seen.body_len < 1048576, "a cut body arrived whole");
    }
    eprintln!(
        "cut request body: mock saw {} request(s), {:?} bytes",
        mock.requests().len(),
        mock.requests()
            .iter()
            .map(|r| r.body_len)
            .collect::<Vec<_>>()
    );
    assert_still_serving(&client(), &proxy, &mock).await;
}

/// A 100 KiB response head, over the proxy's 64 KiB limit, and a body.
fn oversized_response_head() -> Vec<u8> {
    let mut answer = b"HTTP/1.1 200 OK\r\nx-big: ".to_vec();
    answer.extend(std::iter::repeat_n(b'a', 100 * 1024));
    answer.extend_from_slice(b"\r\ncontent-length: 2\r\n\r\nok");
    answer
}

#[tokio::test]
async fn an_oversized_upstream_head_gives_502_in_one_write_as_in_pieces() {
    let mock = MockUpstream::start();
    let upstream = RawUpstream::start(|mut stream| {
        let Some(head) = raw::read_request(&mut stream) else {
            return;
        };
        let answer = oversized_response_head();
        if raw::target(&head) == "/v1/in-pieces" {
            for piece in answer.chunks(4096) {
                // The proxy may refuse and close before the last piece.
                if stream.write_all(piece).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        } else {
            let _ = stream.write_all(&answer);
        }
        let _ = stream.flush();
        std::thread::sleep(Duration::from_millis(100));
    });
    let proxy = ProxyProcess::start(&[]);
    let client = client();
    let target = upstream.url();
    let headers = [("X-Headroom-Upstream", target.as_str())];
    let mut messages = Vec::new();
    for path in ["/v1/in-pieces", "/v1/whole"] {
        let reply = send(&client, request("GET", &proxy.url(path), &headers, "")).await;
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        eprintln!("oversized upstream head {path}: {} {message}", reply.status);
        assert_eq!(reply.status, 502, "{path}: {}", reply.text());
        assert_eq!(
            reply.headers["x-headroom-error"], "upstream_protocol",
            "{path}"
        );
        messages.push(message);
    }
    assert_eq!(messages[0], messages[1], "the same error either way");
    assert!(
        messages[0].contains("larger than 64 KiB"),
        "{}",
        messages[0]
    );
    assert_still_serving(&client, &proxy, &mock).await;
}

/// An upstream whose chunked body has a control byte in a chunk line or
/// trailer: the client never sees it end as if complete, since a parser
/// beyond the proxy could have read different message boundaries there.
#[tokio::test]
async fn control_bytes_in_an_upstreams_chunk_lines_break_the_answer_off() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let client = client();
    for (what, body) in [
        (
            "a bare LF in a chunk extension",
            "5;a\nb\r\nhello\r\n0\r\n\r\n",
        ),
        ("a NUL in a chunk extension", "5;a\0b\r\nhello\r\n0\r\n\r\n"),
        (
            "a bare CR in a trailer",
            "5\r\nhello\r\n0\r\nx-t: a\rb\r\n\r\n",
        ),
    ] {
        let upstream = RawUpstream::start(move |mut stream| {
            if raw::read_request(&mut stream).is_none() {
                return;
            }
            let answer = format!("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{body}");
            let _ = stream.write_all(answer.as_bytes());
            let _ = stream.flush();
            std::thread::sleep(Duration::from_millis(100));
        });
        let target = upstream.url();
        let headers = [("X-Headroom-Upstream", target.as_str())];
        let sent = client.request(request("GET", &proxy.url("/v1/models"), &headers, ""));
        // Refused before the head went out, or broken off after it.
        let read: Result<(), String> = match sent.await {
            Ok(response) => match response.into_body().collect().await {
                Ok(_) => Ok(()),
                Err(error) => Err(error.to_string()),
            },
            Err(error) => Err(error.to_string()),
        };
        eprintln!("{what}: the client's read ended {read:?}");
        assert!(read.is_err(), "{what}: the answer ended as if complete");
        assert_still_serving(&client, &proxy, &mock).await;
    }
}
