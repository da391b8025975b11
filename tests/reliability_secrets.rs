//! Secrets: keys planted in every place a client puts one go through every
//! route and every error path at trace level, and none of them shows up in
//! the logs, in an error body, or in `/stats`. Control headers never reach
//! an upstream, whatever the route or method.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::time::Duration;

use common::mock::MockUpstream;
use common::raw::{self, RawUpstream};
use common::{
    client, family_defaults, free_port, request, send, wait_until, ProxyProcess, TestClient,
};
use http_body_util::BodyExt;

/// Every planted value contains this marker, so one search finds any of them.
const MARKER: &str = "PLANTED";

/// A key in each place a client may send one.
const PLANTED_HEADERS: [(&str, &str); 6] = [
    ("Authorization", "Bearer sk-PLANTED-bearer"),
    ("x-api-key", "ant-PLANTED-xapikey"),
    ("x-goog-api-key", "goog-PLANTED-googkey"),
    ("api-key", "azure-PLANTED-apikey"),
    (
        "Cookie",
        "session=cookie-PLANTED-one; theme=cookie-PLANTED-two",
    ),
    ("Proxy-Authorization", "Basic proxy-PLANTED-basic"),
];

/// `path` with a planted `key=` query parameter added.
fn with_key(path: &str) -> String {
    let join = if path.contains('?') { '&' } else { '?' };
    format!("{path}{join}key=q-PLANTED-querykey")
}

const ROUTES: [(&str, &str); 8] = [
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/responses"),
    ("POST", "/v1/messages"),
    ("POST", "/v1beta/models/g:generateContent"),
    ("POST", "/v1beta/models/g:streamGenerateContent?alt=sse"),
    ("POST", "/v1beta/models/g:countTokens"),
    ("GET", "/v1/models"),
    ("DELETE", "/v1/files/f-1"),
];

/// One way of logging at trace level.
struct Mode {
    name: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const MODES: [Mode; 4] = [
    Mode {
        name: "--log-level trace",
        args: &["--log-level", "trace"],
        env: &[],
    },
    Mode {
        name: "--log-level trace --log-format json",
        args: &["--log-level", "trace", "--log-format", "json"],
        env: &[],
    },
    Mode {
        name: "RUST_LOG=trace",
        args: &[],
        env: &[("RUST_LOG", "trace")],
    },
    // A full filter is taken as written: hyper and the rest log at trace too.
    Mode {
        name: "RUST_LOG=trace,headroom=trace",
        args: &[],
        env: &[("RUST_LOG", "trace,headroom=trace")],
    },
];

/// The upstreams and proxies one mode runs against.
struct Setup {
    mock: MockUpstream,
    broken: RawUpstream,
    proxy: ProxyProcess,
    allow_listed: ProxyProcess,
    client: TestClient,
    /// Bodies of every answer the proxy made itself.
    error_bodies: Vec<String>,
    /// Requests the two proxies should each have logged a line for.
    sent: usize,
    sent_allow_listed: usize,
}

fn setup(mode: &Mode) -> Setup {
    let mock = MockUpstream::start();
    // Answers garbage: the 502 protocol-error path.
    let broken = RawUpstream::start(|mut stream| {
        if raw::read_request(&mut stream).is_some() {
            let _ = stream.write_all(b"not http at all\r\n\r\n");
        }
    });
    let url = mock.url();
    let timeouts = ["--connect-timeout", "300ms", "--idle-timeout", "400ms"];
    let base: Vec<String> = family_defaults(&url)
        .into_iter()
        .chain(timeouts)
        .map(String::from)
        .collect();
    let start = |extra: &[String]| {
        let args: Vec<&str> = base
            .iter()
            .chain(extra)
            .map(String::as_str)
            .chain(mode.args.iter().copied())
            .collect();
        ProxyProcess::start_with_env(&args, mode.env)
    };
    let proxy = start(&[]);
    let allow_listed = start(&["--allow-upstream".to_string(), mock.url()]);
    Setup {
        mock,
        broken,
        proxy,
        allow_listed,
        client: client(),
        error_bodies: Vec::new(),
        sent: 0,
        sent_allow_listed: 0,
    }
}

impl Setup {
    /// Sends `method path` with every planted key and the given override,
    /// and returns the status; bodies of proxy-made answers are kept.
    async fn send(&mut self, method: &str, path: &str, upstream: Option<&str>) -> u16 {
        self.send_to(false, method, path, upstream).await
    }

    async fn send_to(
        &mut self,
        allow_listed: bool,
        method: &str,
        path: &str,
        upstream: Option<&str>,
    ) -> u16 {
        let proxy = if allow_listed {
            self.sent_allow_listed += 1;
            &self.allow_listed
        } else {
            self.sent += 1;
            &self.proxy
        };
        let mut headers = PLANTED_HEADERS.to_vec();
        if let Some(upstream) = upstream {
            headers.push(("X-Headroom-Upstream", upstream));
        }
        let body = r#"{"model":"m","stream":true,"api_key":"body-is-not-logged"}"#;
        let url = proxy.url(&with_key(path));
        let reply = send(&self.client, request(method, &url, &headers, body)).await;
        if reply.headers.contains_key("x-headroom-error") {
            self.error_bodies.push(reply.text());
        }
        reply.status
    }

    /// Opens a mock SSE stream through the proxy with every secret planted.
    async fn open_stream(&mut self, path: &str) -> http::Response<hyper::body::Incoming> {
        self.sent += 1;
        let upstream = self.mock.url();
        let mut headers = PLANTED_HEADERS.to_vec();
        headers.push(("X-Headroom-Upstream", upstream.as_str()));
        let url = self.proxy.url(&with_key(path));
        self.client
            .request(request("GET", &url, &headers, ""))
            .await
            .unwrap()
    }

    /// A stream that the upstream lets go idle past the idle timeout.
    async fn idle_stream(&mut self) {
        let response = self.open_stream("/v1/sse?events=3&gap_ms=2000").await;
        assert_eq!(response.status(), 200);
        let collected =
            tokio::time::timeout(Duration::from_secs(5), response.into_body().collect()).await;
        assert!(
            matches!(collected, Ok(Err(_))),
            "the idle stream did not fail"
        );
    }

    /// A stream the client walks away from after the first event.
    async fn disconnect(&mut self) {
        let response = self.open_stream("/v1/sse?events=1&hold=1").await;
        let mut body = response.into_body();
        assert!(body.frame().await.is_some());
        let cancelled = self.mock.cancelled_streams().len();
        drop(body);
        wait_until(
            Duration::from_secs(5),
            "the upstream stream to be cancelled",
            || self.mock.cancelled_streams().len() > cancelled,
        );
    }

    /// CONNECT with proxy credentials, over raw TCP.
    fn connect_method(&mut self) {
        self.sent += 1;
        let bytes = b"CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\nProxy-Authorization: Basic connect-PLANTED-basic\r\nConnection: close\r\n\r\n";
        let reply = raw::exchange(self.proxy.addr, bytes, Duration::from_secs(2));
        assert_eq!(reply.status(), Some(405), "{}", reply.text());
        self.error_bodies.push(reply.text());
    }
}

async fn run_every_path(s: &mut Setup) -> Vec<(String, u16)> {
    let mut seen = Vec::new();
    let mock = s.mock.url();
    let closed = format!("http://127.0.0.1:{}", free_port());
    let broken = s.broken.url();
    let looped = format!("http://localhost:{}", s.proxy.addr.port());
    for (method, path) in ROUTES {
        seen.push((
            format!("{method} {path} (default)"),
            s.send(method, path, None).await,
        ));
        let status = s.send(method, path, Some(&mock)).await;
        seen.push((format!("{method} {path} (override)"), status));
    }
    let cases: [(&str, &str, Option<&str>); 9] = [
        (
            "/v1/chat/completions",
            "400 userinfo",
            Some("https://u:userinfo-PLANTED-pw@x.dev"),
        ),
        (
            "/v1/messages",
            "400 query",
            Some("https://x.dev/v1?key=override-PLANTED-q"),
        ),
        ("/v1/chat/completions", "400 loop", Some(&looped)),
        ("/v1/messages", "502 refused", Some(&closed)),
        ("/v1/chat/completions", "502 protocol", Some(&broken)),
        ("/v1/hang", "504 timeout", Some(&mock)),
        ("/v1/status?code=401", "upstream 401", Some(&mock)),
        ("/v1/status?code=503", "upstream 503", Some(&mock)),
        ("/v1/status?code=429", "upstream 429", None),
    ];
    for (path, what, upstream) in cases {
        seen.push((what.to_string(), s.send("POST", path, upstream).await));
    }
    let status = s
        .send_to(true, "POST", "/v1/chat/completions", Some(&closed))
        .await;
    seen.push(("403 allow-list".to_string(), status));
    let status = s
        .send_to(true, "POST", "/v1/chat/completions", Some(&mock))
        .await;
    seen.push(("200 allow-listed".to_string(), status));
    s.idle_stream().await;
    s.disconnect().await;
    s.connect_method();
    seen
}

/// Request log lines so far: one per request, in either log format.
fn request_lines(log: &str) -> usize {
    log.lines()
        .filter(|line| line.contains("headroom::request"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_planted_secret_reaches_logs_error_bodies_or_stats() {
    for mode in &MODES {
        let mut s = setup(mode);
        let statuses = run_every_path(&mut s).await;
        let want: Vec<(&str, u16)> = vec![
            ("400 userinfo", 400),
            ("400 query", 400),
            ("400 loop", 400),
            ("502 refused", 502),
            ("502 protocol", 502),
            ("504 timeout", 504),
            ("upstream 401", 401),
            ("upstream 503", 503),
            ("upstream 429", 429),
            ("403 allow-list", 403),
            ("200 allow-listed", 200),
        ];
        for (what, status) in &statuses {
            let expected = want
                .iter()
                .find(|(w, _)| w == what)
                .map_or(200, |(_, s)| *s);
            assert_eq!(*status, expected, "{}: {what}", mode.name);
        }
        wait_until(
            Duration::from_secs(5),
            "a log line for every request",
            || {
                request_lines(&s.proxy.log()) >= s.sent
                    && request_lines(&s.allow_listed.log()) >= s.sent_allow_listed
            },
        );
        let mut stats = Vec::new();
        for proxy in [&s.proxy, &s.allow_listed] {
            stats.push(
                send(&s.client, request("GET", &proxy.url("/stats"), &[], ""))
                    .await
                    .text(),
            );
        }
        let (log, allow_log) = (s.proxy.log(), s.allow_listed.log());
        eprintln!(
            "secrets [{}]: {} requests + {} allow-listed, {} error bodies, {} + {} log lines ({} + {} bytes), stats {} + {} bytes",
            mode.name,
            s.sent,
            s.sent_allow_listed,
            s.error_bodies.len(),
            log.lines().count(),
            allow_log.lines().count(),
            log.len(),
            allow_log.len(),
            stats[0].len(),
            stats[1].len(),
        );
        for (what, text) in [("log", &log), ("allow-listed log", &allow_log)]
            .into_iter()
            .chain(stats.iter().map(|t| ("stats", t)))
            .chain(s.error_bodies.iter().map(|b| ("error body", b)))
        {
            assert!(
                !text.contains(MARKER),
                "{}: a planted key is in the {what}:\n{text}",
                mode.name
            );
            assert!(
                !text.contains("body-is-not-logged"),
                "{}: a request body is in the {what}",
                mode.name
            );
        }
        // Not vacuous: the error paths were logged, and counted.
        for class in [
            "bad_upstream_header",
            "upstream_connect",
            "upstream_protocol",
            "upstream_timeout",
            "upstream_idle_timeout",
            "client_disconnect",
            "upstream_loop",
        ] {
            assert!(log.contains(class), "{}: no {class} in the log", mode.name);
        }
        assert!(allow_log.contains("upstream_not_allowed"), "{}", mode.name);
        assert!(
            stats[0].contains("upstream_5xx") && stats[0].contains("upstream_4xx"),
            "{}",
            stats[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_control_header_reaches_the_upstream_on_any_route_or_method() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&family_defaults(&mock.url()));
    let client = client();
    let upstream = mock.url();
    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];
    let mut sent = 0;
    for (_, path) in ROUTES {
        for method in methods {
            for named in [false, true] {
                let mut headers = vec![
                    ("X-Headroom-Trace", "1"),
                    ("x-HEADROOM-anything", "y"),
                    ("x-headroom-", "z"),
                    ("X-Custom", "passes"),
                ];
                if named {
                    headers.push(("X-Headroom-Upstream", upstream.as_str()));
                    headers.push(("X-Headroom-Provider", "groq"));
                }
                let body = if method == "GET" || method == "HEAD" {
                    ""
                } else {
                    "{}"
                };
                let reply = send(&client, request(method, &proxy.url(path), &headers, body)).await;
                assert_eq!(reply.status, 200, "{method} {path}: {}", reply.text());
                sent += 1;
            }
        }
    }
    let seen = mock.requests();
    let leaked: Vec<String> = seen
        .iter()
        .flat_map(|r| r.headers.keys().map(move |name| (r, name)))
        .filter(|(_, name)| name.as_str().starts_with("x-headroom"))
        .map(|(r, name)| format!("{} {}: {name}", r.method, r.target))
        .collect();
    eprintln!(
        "control headers: {sent} requests over {} routes x {} methods, mock saw {}, {} control headers leaked",
        ROUTES.len(),
        methods.len(),
        seen.len(),
        leaked.len()
    );
    assert_eq!(seen.len(), sent);
    assert!(leaked.is_empty(), "{leaked:?}");
    assert!(seen.iter().all(|r| r.header("x-custom") == Some("passes")));
}
