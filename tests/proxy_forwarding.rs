//! `headroom proxy` forwarding: routes, defaults, overrides, normalization,
//! headers and query strings, against a recording mock upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::mock::MockUpstream;
use common::{client, request, send, ProxyProcess};

struct Setup {
    openai: MockUpstream,
    anthropic: MockUpstream,
    gemini: MockUpstream,
    proxy: ProxyProcess,
}

fn setup() -> Setup {
    let openai = MockUpstream::start();
    let anthropic = MockUpstream::start();
    let gemini = MockUpstream::start();
    let proxy = ProxyProcess::start(&[
        "--openai-upstream",
        &format!("{}/v1", openai.url()),
        "--anthropic-upstream",
        &anthropic.url(),
        "--gemini-upstream",
        &format!("{}/v1beta/", gemini.url()),
    ]);
    Setup {
        openai,
        anthropic,
        gemini,
        proxy,
    }
}

const ROUTES: [(&str, &str); 7] = [
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/responses"),
    ("POST", "/v1/messages"),
    ("POST", "/v1beta/models/gemini-2.5-pro:generateContent"),
    (
        "POST",
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
    ),
    ("POST", "/v1beta/models/gemini-2.5-pro:countTokens"),
    ("GET", "/v1/models?limit=5"),
];

#[tokio::test]
async fn every_route_goes_to_its_family_default_without_an_override() {
    let s = setup();
    let client = client();
    for (method, path) in ROUTES {
        let reply = send(&client, request(method, &s.proxy.url(path), &[], "{}")).await;
        assert_eq!(reply.status, 200, "{method} {path}: {}", reply.text());
        let expected = if path.starts_with("/v1/messages") {
            &s.anthropic
        } else if path.starts_with("/v1beta") {
            &s.gemini
        } else {
            &s.openai
        };
        let seen = expected.last();
        assert_eq!(seen.target, path);
        assert_eq!(seen.method.as_str(), method);
    }
    assert_eq!(s.openai.requests().len(), 3);
    assert_eq!(s.anthropic.requests().len(), 1);
    assert_eq!(s.gemini.requests().len(), 3);
}

#[tokio::test]
async fn every_route_goes_to_the_override_with_its_prefix() {
    let s = setup();
    let gateway = MockUpstream::start();
    let client = client();
    let header = format!("{}/gateway/v1", gateway.url());
    for (method, path) in ROUTES {
        let headers = [("X-Headroom-Upstream", header.as_str())];
        let reply = send(&client, request(method, &s.proxy.url(path), &headers, "{}")).await;
        assert_eq!(reply.status, 200, "{method} {path}: {}", reply.text());
        assert_eq!(gateway.last().target, format!("/gateway{path}"));
    }
    assert_eq!(gateway.requests().len(), ROUTES.len());
    let defaults_seen =
        s.openai.requests().len() + s.anthropic.requests().len() + s.gemini.requests().len();
    assert_eq!(defaults_seen, 0);
}

#[tokio::test]
async fn normalization_table_holds_end_to_end() {
    let s = setup();
    let mock = MockUpstream::start();
    let base = mock.url();
    let cases = [
        (base.clone(), "/v1/chat/completions", "/v1/chat/completions"),
        (
            format!("{base}/v1"),
            "/v1/chat/completions",
            "/v1/chat/completions",
        ),
        (
            format!("{base}/v1beta"),
            "/v1beta/models/g:streamGenerateContent?alt=sse",
            "/v1beta/models/g:streamGenerateContent?alt=sse",
        ),
        (
            format!("{base}/api/v1"),
            "/v1/chat/completions",
            "/api/v1/chat/completions",
        ),
        (
            format!("{base}/api/paas/v4"),
            "/chat/completions",
            "/api/paas/v4/chat/completions",
        ),
        (format!("{base}/"), "/v1/models", "/v1/models"),
        (format!("  {base}/v1/  "), "/v1/responses", "/v1/responses"),
        (format!("{base}/v1beta2"), "/x", "/v1beta2/x"),
    ];
    let client = client();
    for (header, path, want) in cases {
        let headers = [("x-headroom-upstream", header.as_str())];
        let reply = send(&client, request("POST", &s.proxy.url(path), &headers, "{}")).await;
        assert_eq!(reply.status, 200, "{header} + {path}");
        assert_eq!(mock.last().target, want, "{header} + {path}");
    }
}

#[tokio::test]
async fn control_and_hop_headers_are_stripped_and_the_rest_pass_untouched() {
    let s = setup();
    let mock = MockUpstream::start();
    let upstream = mock.url();
    let headers = [
        ("X-Headroom-Upstream", upstream.as_str()),
        ("X-Headroom-Debug", "1"),
        ("x-headroom-anything", "2"),
        ("Authorization", "Bearer sk-test-AUTH"),
        ("x-api-key", "ant-KEY"),
        ("x-goog-api-key", "goog-KEY"),
        ("anthropic-version", "2023-06-01"),
        ("anthropic-beta", "tools-2024-04-04"),
        ("User-Agent", "opencode/1.18.33 ai-sdk"),
        ("Accept-Encoding", "gzip"),
        ("Connection", "x-drop-me"),
        ("x-drop-me", "1"),
        ("Proxy-Authorization", "Basic c2VjcmV0"),
        ("Content-Type", "application/json"),
    ];
    let reply = send(
        &client(),
        request(
            "POST",
            &s.proxy.url("/v1/messages?beta=true"),
            &headers,
            "{\"a\":1}",
        ),
    )
    .await;
    assert_eq!(reply.status, 200);
    let seen = mock.last();
    assert_eq!(seen.target, "/v1/messages?beta=true");
    for name in seen.headers.keys() {
        assert!(
            !name.as_str().starts_with("x-headroom-"),
            "{name} reached the upstream"
        );
    }
    for (name, value) in [
        ("authorization", "Bearer sk-test-AUTH"),
        ("x-api-key", "ant-KEY"),
        ("x-goog-api-key", "goog-KEY"),
        ("anthropic-version", "2023-06-01"),
        ("anthropic-beta", "tools-2024-04-04"),
        ("user-agent", "opencode/1.18.33 ai-sdk"),
        ("accept-encoding", "gzip"),
        ("content-type", "application/json"),
    ] {
        assert_eq!(seen.header(name), Some(value), "{name}");
    }
    assert_eq!(seen.header("host"), Some(mock.addr.to_string().as_str()));
    assert_eq!(seen.header("x-drop-me"), None);
    assert_eq!(seen.header("proxy-authorization"), None);
    assert_eq!(&seen.body[..], b"{\"a\":1}");
    assert_eq!(
        reply.headers.get("x-mock").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
}

#[tokio::test]
async fn methods_bodies_and_statuses_pass_through() {
    let s = setup();
    let mock = MockUpstream::start();
    let upstream = mock.url();
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let client = client();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let reply = send(
            &client,
            request(method, &s.proxy.url("/any/path?q=1&r=%20x"), &headers, ""),
        )
        .await;
        assert_eq!(reply.status, 200);
        let seen = mock.last();
        assert_eq!(seen.method.as_str(), method);
        assert_eq!(seen.target, "/any/path?q=1&r=%20x");
    }
    for code in [201, 404, 429, 500, 503] {
        let path = format!("/status?code={code}");
        let reply = send(&client, request("GET", &s.proxy.url(&path), &headers, "")).await;
        assert_eq!(reply.status, code);
        assert_eq!(reply.json()["status"], code);
        assert!(reply.headers.get("x-headroom-error").is_none());
    }
}

#[tokio::test]
async fn h2c_clients_are_served() {
    let s = setup();
    let mock = MockUpstream::start();
    let upstream = mock.url();
    let client: common::TestClient =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .http2_only(true)
            .build_http();
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let reply = send(
        &client,
        request("POST", &s.proxy.url("/v1/chat/completions"), &headers, "{}"),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(mock.last().target, "/v1/chat/completions");
    assert_eq!(mock.last().header("x-headroom-upstream"), None);
}
