//! Bodies stream through the proxy: large uploads and downloads with flat
//! memory, SSE events forwarded one by one, disconnects and idle upstreams.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::mock::MockUpstream;
use common::{client, frames, request, wait_until, ProxyProcess};
use http_body_util::BodyExt;

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn fifty_mib_each_way_streams_with_flat_memory() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let upstream = mock.url();
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let client = client();
    let baseline = proxy.rss_kib();

    let upload = Bytes::from(vec![b'u'; 50 * MIB]);
    let echoed = client
        .request(request("POST", &proxy.url("/v1/echo"), &headers, upload))
        .await
        .expect("echo");
    assert_eq!(echoed.status(), 200);
    let (chunks, end) = frames(echoed).await;
    assert_eq!(end, Ok(()));
    let total: usize = chunks.iter().map(|(_, c)| c.len()).sum();
    assert_eq!(total, 50 * MIB);
    assert!(chunks.iter().all(|(_, c)| c.iter().all(|b| *b == b'u')));

    let path = format!("/v1/big?bytes={}", 50 * MIB);
    let download = client
        .request(request("GET", &proxy.url(&path), &headers, ""))
        .await
        .expect("big");
    let (chunks, end) = frames(download).await;
    assert_eq!(end, Ok(()));
    assert_eq!(chunks.iter().map(|(_, c)| c.len()).sum::<usize>(), 50 * MIB);

    let peak = proxy.peak_rss_kib();
    assert!(
        peak < baseline + 24 * 1024,
        "peak RSS {peak} KiB vs {baseline} KiB at start: bodies were buffered"
    );
}

#[tokio::test]
async fn sse_events_arrive_one_by_one_at_the_upstreams_pace() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let upstream = mock.url();
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let started = Instant::now();
    let response = client()
        .request(request(
            "GET",
            &proxy.url("/v1/sse?events=5&gap_ms=200"),
            &headers,
            "",
        ))
        .await
        .expect("sse");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let (events, end) = frames(response).await;
    assert_eq!(end, Ok(()));
    assert_eq!(events.len(), 5, "events were coalesced or split");
    for (i, (at, data)) in events.iter().enumerate() {
        assert_eq!(data, &format!("data: {{\"n\":{i}}}\n\n"));
        let due = Duration::from_millis(200 * i as u64);
        let late = at.duration_since(started).saturating_sub(due);
        assert!(
            late < Duration::from_millis(150),
            "event {i} late by {late:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_disconnect_cancels_the_upstream_stream() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let upstream = mock.url();
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let response = client()
        .request(request(
            "GET",
            &proxy.url("/v1/sse?events=1&hold=1"),
            &headers,
            "",
        ))
        .await
        .expect("sse");
    let mut body = response.into_body();
    let first = body.frame().await.expect("first frame").expect("data");
    assert!(first.is_data());
    assert!(mock.cancelled_streams().is_empty());
    drop(body);
    let dropped = Instant::now();
    wait_until(
        Duration::from_secs(2),
        "the upstream stream to be cancelled",
        || !mock.cancelled_streams().is_empty(),
    );
    assert!(dropped.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn an_idle_upstream_ends_the_stream_without_a_fake_success() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&["--idle-timeout", "400ms"]);
    let upstream = mock.url();
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let response = client()
        .request(request(
            "GET",
            &proxy.url("/v1/sse?events=3&gap_ms=2000"),
            &headers,
            "",
        ))
        .await
        .expect("sse");
    assert_eq!(response.status(), 200);
    let started = Instant::now();
    let (events, end) = frames(response).await;
    assert_eq!(events.len(), 1);
    assert!(
        end.is_err(),
        "the stream ended cleanly after an idle timeout"
    );
    assert!(started.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn sigterm_drains_in_flight_streams_then_exits_zero() {
    let mock = MockUpstream::start();
    let mut proxy = ProxyProcess::start(&[]);
    let upstream = mock.url();
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let response = client()
        .request(request(
            "GET",
            &proxy.url("/v1/sse?events=3&gap_ms=300"),
            &headers,
            "",
        ))
        .await
        .expect("sse");
    let reader = tokio::spawn(frames(response));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status = tokio::task::spawn_blocking(move || proxy.stop_with("TERM"))
        .await
        .expect("stop");
    assert!(status.success(), "{status:?}");
    let (events, end) = reader.await.expect("reader");
    assert_eq!(end, Ok(()));
    assert_eq!(events.len(), 3);
}

/// A request body fed through a channel, a chunk at a time.
struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(http_body::Frame::data(c))))
    }
}

#[tokio::test]
async fn a_slow_upload_is_activity_not_idleness() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&["--idle-timeout", "400ms"]);
    let upstream = mock.url();
    let (chunks, body) = tokio::sync::mpsc::channel(1);
    let request = http::Request::post(proxy.url("/v1/chat/completions"))
        .header("X-Headroom-Upstream", upstream.as_str())
        .body(ChannelBody(body))
        .unwrap();
    let client: hyper_util::client::legacy::Client<_, ChannelBody> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let sending = tokio::spawn(async move {
        for part in ["{\"model\":", "\"m\",", "\"messages\"", ":[]", "}"] {
            tokio::time::sleep(Duration::from_millis(250)).await;
            chunks.send(Bytes::from(part)).await.unwrap();
        }
    });
    let response = client.request(request).await.expect("request");
    sending.await.unwrap();
    assert_eq!(response.status(), 200);
    let (_, end) = frames(response).await;
    assert_eq!(end, Ok(()));
    assert_eq!(&mock.last().body[..], b"{\"model\":\"m\",\"messages\":[]}");
}
