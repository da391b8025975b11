#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::timeout;

use super::*;
use crate::proxy::{start_with, Config, RunningProxy};

/// Replaces the body of chat completions; leaves every other route alone.
struct Rewrite;

impl RequestStage for Rewrite {
    fn wants(&self, _api: Option<Api>, parts: &request::Parts) -> bool {
        parts.uri.path() == "/v1/chat/completions"
    }

    fn replace(&self, _api: Option<Api>, _parts: &request::Parts, body: &Bytes) -> Replaced {
        Replaced {
            body: (body.as_ref() == br#"{"a":1}"#)
                .then(|| Bytes::from_static(br#"{"rewritten":true}"#)),
            ..Replaced::default()
        }
    }
}

/// What a watch saw: the chunks in order, then how the stream ended.
#[derive(Default)]
struct Seen {
    chunks: Vec<Bytes>,
    ended: Option<Outcome>,
}

struct Watcher(Arc<Mutex<Seen>>);

impl ResponseStage for Watcher {
    fn watch(&self, _: Asked<'_>, _: StatusCode, _: &HeaderMap) -> Option<Box<dyn ResponseWatch>> {
        Some(Box::new(Watch(self.0.clone())))
    }
}

struct Watch(Arc<Mutex<Seen>>);

impl ResponseWatch for Watch {
    fn chunk(&mut self, data: &Bytes) {
        self.0.lock().unwrap().chunks.push(data.clone());
    }

    fn end(self: Box<Self>, outcome: Outcome) -> Findings {
        self.0.lock().unwrap().ended = Some(outcome);
        Findings::default()
    }
}

/// The chunks a watch saw, and how it ended, once it has: the body is
/// closed once the client has it, and the watch's end may trail.
async fn once_ended(seen: &Mutex<Seen>) -> (Vec<Bytes>, Option<Outcome>) {
    for _ in 0..50 {
        if seen.lock().unwrap().ended.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = seen.lock().unwrap();
    (seen.chunks.clone(), seen.ended)
}

async fn proxy_with(stages: Stages) -> RunningProxy {
    start_with(Config::loopback_ephemeral(), stages)
        .await
        .unwrap()
}

/// Reads one request head and its `content-length` body.
async fn read_request(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the proxy closed before a whole request");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let length = text[..end]
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .map_or(0, |n| n.trim().parse::<usize>().unwrap());
        if buf.len() >= end + 4 + length {
            return text;
        }
    }
}

/// Sends `request` to the proxy, and reads until the proxy closes.
async fn exchange(proxy: SocketAddr, request: &str) -> String {
    let mut client = TcpStream::connect(proxy).await.unwrap();
    client.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    timeout(Duration::from_secs(5), client.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8(answer).unwrap()
}

#[tokio::test]
async fn a_request_stage_replaces_the_body_the_upstream_gets() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let received = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let (mut stream, _) = upstream.accept().await.unwrap();
            seen.push(read_request(&mut stream).await);
            let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
            stream.write_all(answer.as_bytes()).await.unwrap();
        }
        seen
    });
    let proxy = proxy_with(Stages::default().with_request(Arc::new(Rewrite))).await;
    for path in ["/v1/chat/completions", "/v1/embeddings"] {
        let request = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\nx-headroom-upstream: http://{upstream_addr}\r\n\
             content-type: application/json\r\ncontent-length: 7\r\nconnection: close\r\n\r\n{{\"a\":1}}"
        );
        let answer = exchange(proxy.local_addr(), &request).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
    }
    let seen = received.await.unwrap();
    let rewritten = &seen[0];
    assert!(
        rewritten.contains("\r\ncontent-length: 18\r\n"),
        "{rewritten}"
    );
    assert!(
        rewritten.ends_with("\r\n\r\n{\"rewritten\":true}"),
        "{rewritten}"
    );
    assert!(!rewritten.contains("{\"a\":1}"), "{rewritten}");
    let untouched = &seen[1];
    assert!(
        untouched.contains("\r\ncontent-length: 7\r\n"),
        "{untouched}"
    );
    assert!(untouched.ends_with("\r\n\r\n{\"a\":1}"), "{untouched}");
    proxy.shutdown().await;
}

/// A body that arrives in pieces reaches the stage joined, whole.
#[tokio::test]
async fn a_request_stage_reads_a_body_sent_in_pieces_whole() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let received = tokio::spawn(async move {
        let (mut stream, _) = upstream.accept().await.unwrap();
        let seen = read_request(&mut stream).await;
        let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
        stream.write_all(answer.as_bytes()).await.unwrap();
        seen
    });
    let proxy = proxy_with(Stages::default().with_request(Arc::new(Rewrite))).await;
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-headroom-upstream: http://{upstream_addr}\r\n\
         content-length: 7\r\nconnection: close\r\n\r\n"
    );
    for piece in [head.as_str(), "{\"a\"", ":1}"] {
        client.write_all(piece.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let mut answer = Vec::new();
    timeout(Duration::from_secs(5), client.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.ends_with(b"\r\n\r\nok"), "{answer:?}");
    let seen = received.await.unwrap();
    assert!(seen.ends_with("\r\n\r\n{\"rewritten\":true}"), "{seen}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_response_stage_sees_each_chunk_as_the_client_gets_it() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let (first_seen, rest) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut stream, _) = upstream.accept().await.unwrap();
        read_request(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(b"6\r\ndata: \r\n").await.unwrap();
        // The rest waits until the client has the first chunk: a stage that
        // held the stream back would stall here.
        rest.await.unwrap();
        stream.write_all(b"5\r\nhello\r\n0\r\n\r\n").await.unwrap();
    });
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stages = Stages::default().with_response(Arc::new(Watcher(seen.clone())));
    let proxy = proxy_with(stages).await;

    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let request = format!(
        "GET /v1/stream HTTP/1.1\r\nhost: x\r\nx-headroom-upstream: http://{upstream_addr}\r\n\
         connection: close\r\n\r\n"
    );
    client.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    while !String::from_utf8_lossy(&answer).ends_with("6\r\ndata: \r\n") {
        let mut chunk = [0; 1024];
        let read = timeout(Duration::from_secs(5), client.read(&mut chunk));
        let n = read.await.expect("the first chunk arrived alone").unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&chunk[..n]);
    }
    first_seen.send(()).unwrap();
    timeout(Duration::from_secs(5), client.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(
        answer.ends_with("\r\n\r\n6\r\ndata: \r\n5\r\nhello\r\n0\r\n\r\n"),
        "{answer}"
    );
    let (chunks, ended) = once_ended(&seen).await;
    assert_eq!(chunks, [&b"data: "[..], &b"hello"[..]]);
    assert_eq!(ended, Some(Outcome::Completed));
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_watch_learns_that_a_stream_was_cut() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = upstream.accept().await.unwrap();
        read_request(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        // Closed in the middle of the body.
    });
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stages = Stages::default().with_response(Arc::new(Watcher(seen.clone())));
    let proxy = proxy_with(stages).await;
    let request = format!(
        "GET /v1/stream HTTP/1.1\r\nhost: x\r\nx-headroom-upstream: http://{upstream_addr}\r\n\r\n"
    );
    exchange(proxy.local_addr(), &request).await;
    let (chunks, ended) = once_ended(&seen).await;
    assert_eq!(chunks, [&b"hello"[..]]);
    assert_eq!(ended, Some(Outcome::Failed("upstream_body")));
    proxy.shutdown().await;
}
