//! Upstream values that parse as URLs but are not bases: a path with dot
//! segments, which a server on the way would resolve to somewhere else,
//! and a full endpoint, which forwarding would repeat. Both are refused
//! before anything is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::mock::MockUpstream;
use common::{client, request, send, ProxyProcess};

#[tokio::test]
async fn an_override_with_dot_segments_gets_400_and_is_never_forwarded() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let client = client();
    for path in [
        "/../../admin",
        "/api/./v1",
        "/api/..",
        "/%2e%2e/admin",
        "/%2E%2E/admin",
        "/.%2e/admin",
        "/%2e/v1",
    ] {
        let upstream = format!("{}{path}", mock.url());
        let headers = [("X-Headroom-Upstream", upstream.as_str())];
        let reply = send(
            &client,
            request("POST", &proxy.url("/v1/chat/completions"), &headers, "{}"),
        )
        .await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.text());
        assert_eq!(reply.headers["x-headroom-error"], "bad_upstream_header");
        let message = reply.json()["error"]["message"].to_string();
        assert!(message.contains("X-Headroom-Upstream header"), "{message}");
        assert!(message.contains("dot segment"), "{message}");
    }
    assert!(
        mock.requests().is_empty(),
        "forwarded: {:?}",
        mock.requests()
            .iter()
            .map(|r| &r.target)
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_default_upstream_with_dot_segments_is_refused_at_start() {
    let (code, stderr) = ProxyProcess::refused_at_start(&[
        "--port",
        "0",
        "--anthropic-upstream",
        "http://127.0.0.1:9/v1/../admin",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.starts_with("headroom: error: "), "{stderr}");
    assert!(stderr.contains("--anthropic-upstream"), "{stderr}");
    assert!(stderr.contains("dot segment"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn an_override_holding_the_full_endpoint_gets_400_saying_it_takes_a_base() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&[]);
    let client = client();
    for (endpoint, path) in [
        ("/v1/chat/completions", "/v1/chat/completions"),
        ("/api/paas/v4/chat/completions/", "/chat/completions"),
        ("/v1/messages", "/v1/messages"),
    ] {
        let upstream = format!("{}{endpoint}", mock.url());
        let headers = [("X-Headroom-Upstream", upstream.as_str())];
        let reply = send(&client, request("POST", &proxy.url(path), &headers, "{}")).await;
        assert_eq!(reply.status, 400, "{endpoint}: {}", reply.text());
        assert_eq!(reply.headers["x-headroom-error"], "bad_upstream_header");
        let message = reply.json()["error"]["message"].to_string();
        assert!(
            message.contains("X-Headroom-Upstream header is a full endpoint URL"),
            "{message}"
        );
        assert!(message.contains("takes a base URL"), "{message}");
    }
    assert!(
        mock.requests().is_empty(),
        "a refused request was forwarded"
    );

    // The base of that endpoint is forwarded as ever.
    let base = format!("{}/v1", mock.url());
    let headers = [("X-Headroom-Upstream", base.as_str())];
    let reply = send(
        &client,
        request("POST", &proxy.url("/v1/chat/completions"), &headers, "{}"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(mock.last().target, "/v1/chat/completions");
}
