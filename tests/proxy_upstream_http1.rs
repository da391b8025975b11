//! The HTTP/1.1 hop to plain-HTTP upstreams: connections are pooled and
//! reused, never once they are spent, stale or idle for seconds; a
//! request that meets one closed as it was reused is sent again if its
//! method is idempotent, and never if it is a POST (over hyper's client
//! too, which serves HTTPS and proxied upstreams); request bodies keep
//! their framing; answers that come early or end with the connection are
//! relayed, and an upload the upstream did not wait for is read to its end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::raw::{self, RawUpstream};
use common::{client, request, send, ProxyProcess};

/// A request as the upstream saw it: its head and its decoded body.
#[derive(Clone, Debug)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<String> {
        self.head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(field, _)| field.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_owned())
    }
}

/// Reads one request, its body framed by content-length or chunked.
fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let head = raw::read_head(stream)?;
    let mut seen = Seen {
        head,
        body: Vec::new(),
    };
    if seen.header("transfer-encoding").as_deref() == Some("chunked") {
        seen.body = read_chunked(stream)?;
    } else if let Some(length) = seen.header("content-length") {
        let length: u64 = length.parse().ok()?;
        stream.take(length).read_to_end(&mut seen.body).ok()?;
    }
    Some(seen)
}

fn read_chunked(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream)?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            read_line(stream)?;
            return Some(body);
        }
        let mut chunk = vec![0; size + 2];
        stream.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk[..size]);
    }
}

fn read_line(stream: &mut TcpStream) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        line.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&line).trim_end().to_owned())
}

/// An upstream that records every request and answers each with `answer`,
/// as long as the proxy keeps the connection; `after` runs once the answer
/// is written and says whether to keep serving the connection.
fn recording_upstream(
    answer: &'static str,
    after: fn(&mut TcpStream) -> bool,
) -> (RawUpstream, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let upstream = RawUpstream::start(move |mut stream| {
        while let Some(request) = read_request(&mut stream) {
            record.lock().unwrap().push(request);
            if stream.write_all(answer.as_bytes()).is_err() || !after(&mut stream) {
                return;
            }
        }
    });
    (upstream, seen)
}

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

fn keep_serving(_: &mut TcpStream) -> bool {
    true
}

async fn get(
    proxy: &ProxyProcess,
    upstream: &RawUpstream,
    method: &str,
    body: &str,
) -> common::Reply {
    let target = upstream.url();
    let headers = [("X-Headroom-Upstream", target.as_str())];
    send(
        &client(),
        request(method, &proxy.url("/v1/models"), &headers, body.to_owned()),
    )
    .await
}

/// Sends "hello, world" in two chunks, as a client that gives no length
/// does; the upstream must answer 200.
fn send_chunked_hello(proxy: &ProxyProcess, upstream: &RawUpstream, method: &str) {
    let chunked = format!(
        "{method} /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-headroom-upstream: {}\r\n\
         transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n",
        upstream.url()
    );
    let reply = raw::exchange(proxy.addr, chunked.as_bytes(), Duration::from_millis(500));
    assert_eq!(reply.status(), Some(200), "{}", reply.text());
}

#[tokio::test]
async fn sequential_requests_share_one_upstream_connection() {
    let (upstream, seen) = recording_upstream(OK, keep_serving);
    let proxy = ProxyProcess::start(&[]);
    for round in 0..4 {
        for (method, body) in [("GET", ""), ("POST", "{\"n\":1}")] {
            let reply = get(&proxy, &upstream, method, body).await;
            assert_eq!(
                (reply.status, reply.text().as_str()),
                (200, "ok"),
                "{method} {round}"
            );
        }
    }
    assert_eq!(seen.lock().unwrap().len(), 8);
    assert_eq!(
        upstream.accepted(),
        1,
        "every request after the first reuses the connection"
    );
}

/// An event stream's connection serves the next request when the stream
/// ends, also when its end comes in one segment with its last event:
/// nothing of the stream may be left to be read as the next answer.
#[tokio::test]
async fn an_event_streams_connection_serves_again_with_nothing_left_over() {
    let upstream = RawUpstream::start(|mut stream| {
        while let Some(request) = read_request(&mut stream) {
            if !request.head.starts_with("GET /events ") {
                if stream.write_all(OK.as_bytes()).is_err() {
                    return;
                }
                continue;
            }
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                        transfer-encoding: chunked\r\n\r\n";
            // The first two events arrive apart, the last with the end.
            for piece in [head, "9\r\ndata: 1\n\n\r\n", "9\r\ndata: 2\n\n\r\n"] {
                if stream.write_all(piece.as_bytes()).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if stream.write_all(b"9\r\ndata: 3\n\n\r\n0\r\n\r\n").is_err() {
                return;
            }
        }
    });
    let proxy = ProxyProcess::start(&[]);
    let target = upstream.url();
    let headers = [("X-Headroom-Upstream", target.as_str())];
    for round in 0..3 {
        let events = send(
            &client(),
            request("GET", &proxy.url("/events"), &headers, String::new()),
        )
        .await;
        assert_eq!(events.status, 200, "round {round}");
        assert_eq!(events.text(), "data: 1\n\ndata: 2\n\ndata: 3\n\n");
        let reply = get(&proxy, &upstream, "GET", "").await;
        assert_eq!((reply.status, reply.text().as_str()), (200, "ok"));
    }
    assert_eq!(
        upstream.accepted(),
        1,
        "the event streams' connection is reused"
    );
}

/// How the proxy reaches a test upstream: over its own HTTP/1.1 client, or
/// over hyper's, as it does HTTPS upstreams, with the upstream standing in
/// for an HTTP proxy (`HTTP_PROXY`).
#[derive(Clone, Copy, Debug)]
enum Hop {
    Direct,
    ThroughHttpProxy,
}

const HOPS: [Hop; 2] = [Hop::Direct, Hop::ThroughHttpProxy];

fn proxy_to(upstream: &RawUpstream, hop: Hop, args: &[&str]) -> ProxyProcess {
    match hop {
        Hop::Direct => ProxyProcess::start(args),
        Hop::ThroughHttpProxy => {
            ProxyProcess::start_with_env(args, &[("HTTP_PROXY", upstream.url().as_str())])
        }
    }
}

#[tokio::test]
async fn a_connection_the_upstream_closed_while_idle_is_not_used_again() {
    // Under the rule below, a POST that went out on it would fail: the
    // close must be seen before the connection is taken.
    for hop in HOPS {
        for (method, body) in [("GET", ""), ("POST", "{}")] {
            // Answers, then closes the idle connection as servers do after
            // their keep-alive timeout, without saying so in the answer.
            let (upstream, seen) = recording_upstream(OK, |stream| {
                std::thread::sleep(Duration::from_millis(50));
                let _ = stream.shutdown(Shutdown::Both);
                false
            });
            let proxy = proxy_to(&upstream, hop, &[]);
            for attempt in 0..3 {
                let reply = get(&proxy, &upstream, method, body).await;
                assert_eq!(
                    reply.status,
                    200,
                    "{hop:?}: {method} {attempt}: {}",
                    reply.text()
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            assert_eq!(upstream.accepted(), 3, "{hop:?}: {method}");
            assert_eq!(seen.lock().unwrap().len(), 3, "{hop:?}: {method}");
        }
    }
}

#[tokio::test]
async fn a_connection_idle_for_seconds_is_not_used_again() {
    // An upstream that never closes an idle connection: the proxy lets it
    // go before the 5 s after which many servers close theirs.
    let (upstream, _) = recording_upstream(OK, keep_serving);
    let proxy = ProxyProcess::start(&[]);
    for (pause, connections) in [(0, 1), (1000, 1), (4500, 2)] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        assert_eq!(get(&proxy, &upstream, "GET", "").await.status, 200);
        assert_eq!(upstream.accepted(), connections, "after {pause} ms idle");
    }
}

/// A request an upstream read, and whether it answered it.
#[derive(Clone, Debug)]
struct ReadByUpstream {
    seen: Seen,
    answered: bool,
}

impl ReadByUpstream {
    fn method(&self) -> &str {
        self.seen.head.split(' ').next().unwrap_or("")
    }
}

/// Answers the first request on each connection; the next one it reads
/// (its head only, or `in_full`) and then closes the connection without
/// answering, as a server does whose keep-alive timeout fired just as the
/// proxy reused the connection. Records every request it read.
fn closing_on_reuse_upstream(in_full: bool) -> (RawUpstream, Arc<Mutex<Vec<ReadByUpstream>>>) {
    let read = Arc::new(Mutex::new(Vec::new()));
    let record = read.clone();
    let upstream = RawUpstream::start(move |mut stream| {
        let Some(seen) = read_request(&mut stream) else {
            return;
        };
        let answered = true;
        record
            .lock()
            .unwrap()
            .push(ReadByUpstream { seen, answered });
        if stream.write_all(OK.as_bytes()).is_err() {
            return;
        }
        // Closing with body bytes unread makes the kernel reset the
        // connection; closing after reading them all sends a plain FIN.
        let next = match in_full {
            true => read_request(&mut stream),
            false => raw::read_head(&mut stream).map(|head| Seen {
                head,
                body: Vec::new(),
            }),
        };
        if let Some(seen) = next {
            let answered = false;
            record
                .lock()
                .unwrap()
                .push(ReadByUpstream { seen, answered });
        }
    });
    (upstream, read)
}

#[tokio::test]
async fn an_idempotent_request_on_a_connection_closed_as_it_was_reused_is_sent_again() {
    let large = "x".repeat(256 * 1024);
    for hop in HOPS {
        let (upstream, read) = closing_on_reuse_upstream(false);
        let proxy = proxy_to(&upstream, hop, &[]);
        for (method, body) in [
            ("GET", ""),
            ("PUT", large.as_str()),
            ("DELETE", "{\"n\":1}"),
        ] {
            let reply = get(&proxy, &upstream, method, body).await;
            assert_eq!(
                (reply.status, reply.text().as_str()),
                (200, "ok"),
                "{hop:?}: {method} of {} bytes",
                body.len()
            );
        }
        send_chunked_hello(&proxy, &upstream, "PUT");

        // Each request after the first met a stale connection, then a new
        // one: sent twice, answered once.
        assert_eq!(upstream.accepted(), 4, "{hop:?}");
        let read = read.lock().unwrap().clone();
        let tries: Vec<(&str, bool)> = read.iter().map(|r| (r.method(), r.answered)).collect();
        assert_eq!(
            tries,
            [
                ("GET", true),
                ("PUT", false),
                ("PUT", true),
                ("DELETE", false),
                ("DELETE", true),
                ("PUT", false),
                ("PUT", true)
            ],
            "{hop:?}"
        );
        let answered: Vec<&Seen> = read
            .iter()
            .filter(|r| r.answered)
            .map(|r| &r.seen)
            .collect();
        let bodies: Vec<&[u8]> = answered.iter().map(|seen| seen.body.as_slice()).collect();
        let expected: [&[u8]; 4] = [b"", large.as_bytes(), b"{\"n\":1}", b"hello, world"];
        assert_eq!(
            bodies, expected,
            "{hop:?}: bodies as the upstream answered them"
        );
        assert_eq!(
            answered[1].header("content-length"),
            Some(large.len().to_string()),
            "{hop:?}"
        );
        assert_eq!(
            answered[3].header("transfer-encoding").as_deref(),
            Some("chunked"),
            "{hop:?}"
        );
    }
}

/// RFC 9112 section 9.3.1: the upstream may have processed a request it
/// read before it closed, and a POST to an LLM is a billed call.
#[tokio::test]
async fn a_post_on_a_connection_closed_as_it_was_reused_is_not_sent_again() {
    let chat = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    for hop in HOPS {
        for in_full in [true, false] {
            let (upstream, read) = closing_on_reuse_upstream(in_full);
            let proxy = proxy_to(&upstream, hop, &[]);
            assert_eq!(get(&proxy, &upstream, "GET", "").await.status, 200);
            let target = upstream.url();
            let headers = [
                ("X-Headroom-Upstream", target.as_str()),
                ("Content-Type", "application/json"),
            ];
            let url = proxy.url("/v1/chat/completions");
            let reply = send(&client(), request("POST", &url, &headers, chat)).await;
            let what = format!("{hop:?}, read in full {in_full}");
            assert_eq!(reply.status, 502, "{what}: {}", reply.text());
            let message = reply.json()["error"]["message"].clone();
            assert!(message.is_string(), "{what}: {}", reply.text());
            let read = read.lock().unwrap().clone();
            let posts = read.iter().filter(|r| r.method() == "POST").count();
            assert_eq!(posts, 1, "{what}: the upstream read the POST {posts} times");
            assert_eq!(upstream.accepted(), 1, "{what}");
        }
    }
}

#[tokio::test]
async fn a_body_too_large_to_keep_is_not_sent_again() {
    let huge = "x".repeat(2 * 1024 * 1024);
    for hop in HOPS {
        let (upstream, read) = closing_on_reuse_upstream(true);
        let proxy = proxy_to(&upstream, hop, &[]);
        assert_eq!(get(&proxy, &upstream, "GET", "").await.status, 200);
        let reply = get(&proxy, &upstream, "PUT", &huge).await;
        assert_eq!(reply.status, 502, "{hop:?}: {}", reply.text());
        assert!(reply.text().contains("closed"), "{hop:?}: {}", reply.text());
        assert_eq!(upstream.accepted(), 1, "{hop:?}: sent once only");
        assert_eq!(read.lock().unwrap().len(), 2, "{hop:?}");
    }
}

#[tokio::test]
async fn a_pooled_connection_closed_after_a_while_is_not_tried_again() {
    // Not a keep-alive race: the upstream was busy with the request, and
    // failed or gave up on it; sending it again would repeat that.
    for hop in HOPS {
        let (upstream, _) = recording_upstream(OK, |stream| {
            read_request(stream);
            std::thread::sleep(Duration::from_millis(1500));
            false
        });
        let proxy = proxy_to(&upstream, hop, &[]);
        assert_eq!(get(&proxy, &upstream, "GET", "").await.status, 200);
        let reply = get(&proxy, &upstream, "PUT", "{}").await;
        assert_eq!(reply.status, 502, "{hop:?}: {}", reply.text());
        assert_eq!(upstream.accepted(), 1, "{hop:?}");
    }
}

#[tokio::test]
async fn a_new_connection_closed_without_an_answer_is_not_tried_again() {
    for hop in HOPS {
        let upstream = RawUpstream::start(|mut stream| {
            read_request(&mut stream);
        });
        let proxy = proxy_to(&upstream, hop, &[]);
        let reply = get(&proxy, &upstream, "GET", "").await;
        assert_eq!(reply.status, 502, "{hop:?}: {}", reply.text());
        assert_eq!(upstream.accepted(), 1, "{hop:?}");
    }
}

#[tokio::test]
async fn spent_connections_are_not_reused() {
    // `connection: close` from an upstream that then keeps the socket open:
    // a proxy that reused it would wait for an answer that never comes.
    let close = "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok";
    let (upstream, _) = recording_upstream(close, |stream| {
        raw::hold_open(stream.try_clone().unwrap(), Duration::from_secs(5));
        false
    });
    let proxy = ProxyProcess::start(&["--idle-timeout", "3s"]);
    for attempt in 0..2 {
        let reply = get(&proxy, &upstream, "GET", "").await;
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, "ok"),
            "attempt {attempt}"
        );
        assert!(
            !reply.headers.contains_key("connection"),
            "hop-by-hop header relayed"
        );
    }
    assert_eq!(upstream.accepted(), 2);

    // A body that ends with the connection is relayed whole, and spends it.
    let (upstream, _) = recording_upstream("HTTP/1.1 200 OK\r\n\r\nuntil the end", |_| false);
    for _ in 0..2 {
        let reply = get(&proxy, &upstream, "GET", "").await;
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, "until the end")
        );
    }
    assert_eq!(upstream.accepted(), 2);
}

#[tokio::test]
async fn a_reused_connection_times_idleness_from_its_new_request() {
    // One connection carries three requests: the first answered at once;
    // the second, after the connection sat in the pool past the idle
    // timeout, answered within it; the third never answered. Each comes
    // from another client connection, so another task waits on the timer.
    let upstream = RawUpstream::start(|mut stream| {
        for delay in [Some(Duration::ZERO), Some(Duration::from_millis(300)), None] {
            if read_request(&mut stream).is_none() {
                return;
            }
            let Some(delay) = delay else {
                raw::hold_open(stream, Duration::from_secs(10));
                return;
            };
            std::thread::sleep(delay);
            if stream.write_all(OK.as_bytes()).is_err() {
                return;
            }
        }
    });
    let proxy = ProxyProcess::start(&["--idle-timeout", "600ms"]);
    assert_eq!(get(&proxy, &upstream, "GET", "").await.status, 200);
    tokio::time::sleep(Duration::from_millis(900)).await;
    let reply = get(&proxy, &upstream, "GET", "").await;
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "ok"),
        "time in the pool counted as idle"
    );
    let asked = Instant::now();
    let reply = get(&proxy, &upstream, "GET", "").await;
    let waited = asked.elapsed();
    assert_eq!(reply.status, 504, "{}", reply.text());
    assert!(
        waited >= Duration::from_millis(550) && waited < Duration::from_secs(5),
        "the idle timeout fired after {waited:?}"
    );
    assert_eq!(upstream.accepted(), 1, "the connection was not reused");
}

#[tokio::test]
async fn a_head_answer_has_no_body_and_keeps_the_connection() {
    let (upstream, _) =
        recording_upstream("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", keep_serving);
    let proxy = ProxyProcess::start(&[]);
    for _ in 0..2 {
        let reply = get(&proxy, &upstream, "HEAD", "").await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.headers["content-length"], "5");
        assert!(reply.body.is_empty());
    }
    assert_eq!(upstream.accepted(), 1);
}

#[tokio::test]
async fn request_bodies_keep_their_framing_upstream() {
    let (upstream, seen) = recording_upstream(OK, keep_serving);
    let proxy = ProxyProcess::start(&[]);

    get(&proxy, &upstream, "POST", "{\"sized\":true}").await;
    get(&proxy, &upstream, "GET", "").await;
    send_chunked_hello(&proxy, &upstream, "POST");

    let seen = seen.lock().unwrap().clone();
    let [sized, bodiless, streamed] = seen.as_slice() else {
        panic!("expected three requests, got {seen:#?}");
    };
    assert_eq!(sized.header("content-length").as_deref(), Some("14"));
    assert_eq!(sized.header("transfer-encoding"), None);
    assert_eq!(sized.body, b"{\"sized\":true}");
    assert_eq!(bodiless.header("content-length"), None);
    assert_eq!(bodiless.header("transfer-encoding"), None);
    assert_eq!(
        streamed.header("transfer-encoding").as_deref(),
        Some("chunked")
    );
    assert_eq!(streamed.header("content-length"), None);
    assert_eq!(streamed.body, b"hello, world");
    assert!(streamed
        .head
        .starts_with("POST /v1/chat/completions HTTP/1.1\r\n"));
}

/// Refuses an upload after reading the head only, then drains it while
/// closing, as servers do.
fn refusing_upstream() -> RawUpstream {
    RawUpstream::start(|mut stream| {
        if raw::read_head(&mut stream).is_none() {
            return;
        }
        let refusal = "HTTP/1.1 413 Payload Too Large\r\nconnection: close\r\ncontent-length: 9\r\n\r\ntoo large";
        let _ = stream.write_all(refusal.as_bytes());
        let _ = stream.shutdown(Shutdown::Write);
        raw::hold_open(stream, Duration::from_secs(5));
    })
}

#[tokio::test]
async fn an_answer_that_comes_before_the_upload_ends_is_relayed() {
    // The proxy must relay the 413, not a 502.
    let upstream = refusing_upstream();
    let proxy = ProxyProcess::start(&[]);
    let target = upstream.url();
    let headers = [("X-Headroom-Upstream", target.as_str())];
    let upload = vec![b'x'; 4 * 1024 * 1024];
    let reply = send(
        &client(),
        request("POST", &proxy.url("/v1/files"), &headers, upload),
    )
    .await;
    assert_eq!((reply.status, reply.text().as_str()), (413, "too large"));
}

#[test]
fn after_an_early_answer_the_rest_of_the_upload_is_read_and_the_connection_kept() {
    let upstream = refusing_upstream();
    let proxy = ProxyProcess::start(&[]);
    let headers = format!("x-headroom-upstream: {}\r\n", upstream.url());
    let answer = raw::upload_answered_early(proxy.addr, &headers, "too large");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[test]
fn a_slow_upload_keeps_the_exchange_alive() {
    // The upstream says nothing while the upload goes on, before its
    // answer's head or after it: the upload moving is the activity.
    for hop in HOPS {
        for head_first in [false, true] {
            let reply = slow_upload_through(hop, head_first);
            let case = format!("{hop:?}, head first: {head_first}");
            assert!(reply.starts_with("HTTP/1.1 200"), "{case}: {reply}");
            assert!(reply.contains("one two three four five"), "{case}: {reply}");
        }
    }
}

/// Uploads five chunks, 250 ms apart, to an upstream that answers with
/// them once they are all there, sending its answer's head at once when
/// `head_first`; the proxy's idle timeout is 400 ms. Returns the reply.
fn slow_upload_through(hop: Hop, head_first: bool) -> String {
    let upstream = RawUpstream::start(move |mut stream| {
        if raw::read_head(&mut stream).is_none() {
            return;
        }
        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        if head_first && stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let Some(body) = read_chunked(&mut stream) else {
            return;
        };
        let body = String::from_utf8_lossy(&body);
        let answer = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
        let answer = if head_first {
            answer
        } else {
            format!("{head}{answer}")
        };
        let _ = stream.write_all(answer.as_bytes());
    });
    let proxy = proxy_to(&upstream, hop, &["--idle-timeout", "400ms"]);
    let mut client = TcpStream::connect(proxy.addr).unwrap();
    let head = format!(
        "POST /v1/files HTTP/1.1\r\nhost: x\r\nx-headroom-upstream: {}\r\n\
         transfer-encoding: chunked\r\n\r\n",
        upstream.url()
    );
    client.write_all(head.as_bytes()).unwrap();
    for part in ["one ", "two ", "three ", "four ", "five"] {
        std::thread::sleep(Duration::from_millis(250));
        let chunk = format!("{:x}\r\n{part}\r\n", part.len());
        client
            .write_all(chunk.as_bytes())
            .unwrap_or_else(|e| panic!("{hop:?}: the proxy stopped taking the upload: {e}"));
    }
    client.write_all(b"0\r\n\r\n").unwrap();
    raw::read_until(&mut client, "0\r\n\r\n")
}
