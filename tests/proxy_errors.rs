//! What the proxy answers itself: bad overrides, unreachable or silent
//! upstreams, the allow-list and loop rules, `/health` and `/stats`, and
//! logs that never carry a secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::mock::MockUpstream;
use common::raw;
use common::{client, free_port, request, send, ProxyProcess, BIN};

/// Sends raw bytes and returns the raw response, for requests an HTTP
/// library refuses to build.
fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    raw::exchange(addr, bytes, Duration::from_secs(5)).text()
}

fn raw_with_upstream(path: &str, upstream: &[u8]) -> Vec<u8> {
    let mut bytes = format!("POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\nX-Headroom-Upstream: ").into_bytes();
    bytes.extend_from_slice(upstream);
    bytes.extend_from_slice(b"\r\n\r\n{}");
    bytes
}

#[tokio::test]
async fn bad_overrides_get_400_naming_the_header_and_are_never_forwarded() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&["--openai-upstream", &mock.url()]);
    let long = format!("https://x.dev/{}", "a".repeat(2100));
    let bad = [
        "not a url",
        "api.openai.com",
        "ftp://x.dev",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://",
        "https://user:secret-pw@x.dev",
        "http://a@b",
        "http://a\\@b",
        "https://x.dev/#frag",
        "https://x.dev/?key=secret-q",
        "https://x.dev:99999",
        long.as_str(),
    ];
    let client = client();
    for value in bad {
        let headers = [("X-Headroom-Upstream", value)];
        let reply = send(
            &client,
            request("POST", &proxy.url("/v1/chat/completions"), &headers, "{}"),
        )
        .await;
        assert_eq!(reply.status, 400, "{value}");
        let body = reply.json();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("X-Headroom-Upstream header "),
            "{message}"
        );
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert!(
            !reply.text().contains("secret"),
            "error echoed a secret: {}",
            reply.text()
        );
    }
    let anthropic = send(
        &client,
        request(
            "POST",
            &proxy.url("/v1/messages"),
            &[("X-Headroom-Upstream", "nope")],
            "{}",
        ),
    )
    .await;
    assert_eq!(anthropic.status, 400);
    assert_eq!(anthropic.json()["type"], "error");
    assert_eq!(anthropic.json()["error"]["type"], "invalid_request_error");

    for raw in [&b"https://x.dev/\xff\xfe"[..], b"https://x .dev"] {
        let response = raw_exchange(proxy.addr, &raw_with_upstream("/v1/chat/completions", raw));
        assert!(response.starts_with("HTTP/1.1 400"), "{response}");
        assert!(
            response.contains("X-Headroom-Upstream header"),
            "{response}"
        );
    }
    // hyper itself refuses control characters in a header value.
    let response = raw_exchange(
        proxy.addr,
        &raw_with_upstream("/v1/chat/completions", b"https://x.dev/\x01"),
    );
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    let twice = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\nX-Headroom-Upstream: http://127.0.0.1:9\r\nX-Headroom-Upstream: http://127.0.0.1:10\r\n\r\n";
    let response = raw_exchange(proxy.addr, twice);
    assert!(response.contains("more than once"), "{response}");
    assert!(
        mock.requests().is_empty(),
        "a refused request was forwarded"
    );
}

#[tokio::test]
async fn an_override_pointing_at_the_proxy_itself_is_a_loop() {
    let proxy = ProxyProcess::start(&[]);
    let client = client();
    for target in [
        format!("http://{}", proxy.addr),
        format!("http://localhost:{}/v1", proxy.addr.port()),
        format!("http://[::1]:{}/v1", proxy.addr.port()),
    ] {
        let headers = [("X-Headroom-Upstream", target.as_str())];
        let reply = send(
            &client,
            request("GET", &proxy.url("/v1/models"), &headers, ""),
        )
        .await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.headers["x-headroom-error"], "upstream_loop");
    }
}

/// An `HTTP_PROXY` that is the proxy itself sent every plain-HTTP request
/// back in, round after round, until file descriptors ran out. The
/// connection back is now refused, with or without an override, and so is
/// an `HTTPS_PROXY` that is the proxy (before, a bare "tunnel error").
#[tokio::test]
async fn an_http_proxy_that_is_the_proxy_itself_is_a_loop() {
    let port = free_port();
    let mock = MockUpstream::start();
    let itself = format!("http://127.0.0.1:{port}");
    let defaults = common::family_defaults("http://127.0.0.2:9");
    let proxies = [("HTTP_PROXY", itself.as_str()), ("HTTPS_PROXY", &itself)];
    let proxy = ProxyProcess::start_on(port, &defaults, &proxies);
    let client = client();
    let upstream = mock.url();
    for headers in [
        vec![],
        vec![("X-Headroom-Upstream", upstream.as_str())],
        vec![("X-Headroom-Upstream", "https://api.example.com")],
    ] {
        let sending = send(
            &client,
            request("POST", &proxy.url("/v1/chat/completions"), &headers, "{}"),
        );
        let reply = tokio::time::timeout(Duration::from_secs(10), sending)
            .await
            .expect("no answer: the request went round and round");
        assert_eq!(reply.status, 508, "{}", reply.text());
        assert_eq!(reply.headers["x-headroom-error"], "upstream_loop");
        let message = reply.json()["error"]["message"].to_string();
        assert!(message.contains("HTTP_PROXY"), "{message}");
        assert!(message.contains("is this proxy itself"), "{message}");
    }
    assert!(mock.requests().is_empty());

    let stats = send(&client, request("GET", &proxy.url("/stats"), &[], ""))
        .await
        .json();
    let forwarded: u64 = stats["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(forwarded, 3, "the requests came round again: {stats}");
}

#[tokio::test]
async fn an_upstream_that_refuses_connections_gives_502_json() {
    let port = free_port();
    let proxy = ProxyProcess::start(&[]);
    let target = format!("http://127.0.0.1:{port}");
    let headers = [("X-Headroom-Upstream", target.as_str())];
    let client = client();
    let reply = send(
        &client,
        request("POST", &proxy.url("/v1/messages"), &headers, "{}"),
    )
    .await;
    assert_eq!(reply.status, 502);
    let body = reply.json();
    assert_eq!(body["type"], "error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("could not connect to upstream {target}")),
        "{message}"
    );
    let reply = send(
        &client,
        request("POST", &proxy.url("/v1/chat/completions"), &headers, "{}"),
    )
    .await;
    assert_eq!(reply.json()["error"]["code"], "upstream_connect");
}

#[test]
fn a_refused_upload_is_read_to_its_end_so_the_client_gets_the_answer() {
    let proxy = ProxyProcess::start(&[]);
    let down = free_port();
    let cases = [
        ("not a url".to_owned(), "HTTP/1.1 400", "upstream_header"),
        (
            format!("http://127.0.0.1:{down}"),
            "HTTP/1.1 502",
            "upstream_connect",
        ),
        (
            format!("https://127.0.0.1:{down}"),
            "HTTP/1.1 502",
            "upstream_connect",
        ),
    ];
    for (upstream, status, class) in cases {
        let headers = format!("x-headroom-upstream: {upstream}\r\n");
        let answer = raw::upload_answered_early(proxy.addr, &headers, "}}");
        assert!(answer.starts_with(status), "{upstream}: {answer}");
        assert!(answer.contains(class), "{upstream}: {answer}");
    }
}

#[tokio::test]
async fn a_silent_upstream_gives_504_after_the_timeout() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&["--connect-timeout", "300ms", "--idle-timeout", "300ms"]);
    let upstream = mock.url();
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    let started = Instant::now();
    let reply = send(
        &client(),
        request("GET", &proxy.url("/v1/hang"), &headers, ""),
    )
    .await;
    assert_eq!(reply.status, 504);
    assert_eq!(reply.json()["error"]["code"], "upstream_timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// A listener whose accept queue is full drops further SYNs, so a connect
/// to it hangs: the one way to see a connect timeout on loopback.
fn unanswering_listener() -> (tokio::net::TcpListener, Vec<TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let listener = socket.listen(0).unwrap();
    let mut filling = Vec::new();
    while filling.len() < 64 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => filling.push(stream),
            Err(_) => return (listener, filling),
        }
    }
    panic!("the accept queue never filled");
}

#[tokio::test]
async fn a_connect_that_hangs_gives_504_connect_timeout() {
    let (listener, _filling) = unanswering_listener();
    let target = format!("http://{}", listener.local_addr().unwrap());
    let proxy = ProxyProcess::start(&["--connect-timeout", "300ms"]);
    let headers = [("X-Headroom-Upstream", target.as_str())];
    let reply = send(
        &client(),
        request("GET", &proxy.url("/v1/models"), &headers, ""),
    )
    .await;
    assert_eq!(reply.status, 504);
    assert_eq!(reply.json()["error"]["code"], "upstream_connect_timeout");
}

#[test]
fn binding_beyond_loopback_needs_an_allow_list() {
    let state = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["proxy", "--host", "0.0.0.0", "--port", "0"])
        .env("XDG_STATE_HOME", state.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("headroom: error: refusing to listen on 0.0.0.0"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--allow-upstream"));
}

/// An IPv4 loopback address written as IPv6 is loopback: no allow-list
/// is asked for, and no head deadline set.
#[tokio::test]
async fn loopback_written_as_ipv6_needs_no_allow_list() {
    let proxy = ProxyProcess::start(&["--host", "::ffff:127.0.0.1"]);
    assert!(
        proxy.addr.ip().to_canonical().is_loopback(),
        "{}",
        proxy.addr
    );
    let health = send(&client(), request("GET", &proxy.url("/health"), &[], "")).await;
    assert_eq!(health.status, 200);
}

#[test]
fn a_default_upstream_that_is_the_proxy_itself_is_refused_at_start() {
    let port = free_port().to_string();
    for (flag, upstream) in [
        ("--openai-upstream", format!("http://127.0.0.1:{port}")),
        (
            "--anthropic-upstream",
            format!("http://localhost:{port}/v1"),
        ),
        (
            "--gemini-upstream",
            format!("http://[::ffff:127.0.0.1]:{port}"),
        ),
    ] {
        let (code, stderr) = ProxyProcess::refused_at_start(&["--port", &port, flag, &upstream]);
        assert_eq!(code, Some(2), "{flag}: {stderr}");
        assert!(stderr.starts_with("headroom: error: "), "{stderr}");
        assert!(stderr.contains("would loop"), "{stderr}");
        assert!(stderr.contains(flag), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[tokio::test]
async fn the_allow_list_is_enforced_by_exact_origin() {
    let allowed = MockUpstream::start();
    let other = MockUpstream::start();
    let proxy = ProxyProcess::start(&["--host", "0.0.0.0", "--allow-upstream", &allowed.url()]);
    let client = client();
    let url = format!("http://127.0.0.1:{}/v1/chat/completions", proxy.addr.port());
    let ok = format!("{}/v1", allowed.url());
    let reply = send(
        &client,
        request("POST", &url, &[("X-Headroom-Upstream", ok.as_str())], "{}"),
    )
    .await;
    assert_eq!(reply.status, 200);
    let same_host_other_port = other.url();
    let prefix_trick = format!("{}.evil.dev", allowed.url());
    for refused in [same_host_other_port.as_str(), "https://api.openai.com"] {
        let reply = send(
            &client,
            request("POST", &url, &[("X-Headroom-Upstream", refused)], "{}"),
        )
        .await;
        assert_eq!(reply.status, 403, "{refused}");
        assert_eq!(reply.json()["error"]["type"], "permission_error");
    }
    let reply = send(
        &client,
        request(
            "POST",
            &url,
            &[("X-Headroom-Upstream", prefix_trick.as_str())],
            "{}",
        ),
    )
    .await;
    assert_eq!(reply.status, 400, "{prefix_trick}");
    let reply = send(&client, request("POST", &url, &[], "{}")).await;
    assert_eq!(reply.status, 403, "the default upstream is not on the list");
    assert!(other.requests().is_empty());

    let any = ProxyProcess::start(&["--host", "0.0.0.0", "--allow-any-upstream"]);
    let url = format!("http://127.0.0.1:{}/v1/models", any.addr.port());
    let target = other.url();
    let reply = send(
        &client,
        request("GET", &url, &[("X-Headroom-Upstream", target.as_str())], ""),
    )
    .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn health_and_stats_are_answered_locally() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&["--openai-upstream", &mock.url()]);
    let client = client();
    for path in ["/health", "/healthz"] {
        let reply = send(&client, request("GET", &proxy.url(path), &[], "")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["status"], "ok");
        assert_eq!(reply.json()["version"], env!("CARGO_PKG_VERSION"));
    }
    let upstream = mock.url();
    let headers = [("X-Headroom-Upstream", upstream.as_str())];
    send(
        &client,
        request("POST", &proxy.url("/v1/messages"), &headers, "12345"),
    )
    .await;
    send(
        &client,
        request("POST", &proxy.url("/v1/chat/completions"), &[], "{}"),
    )
    .await;
    send(
        &client,
        request("GET", &proxy.url("/status?code=500"), &headers, ""),
    )
    .await;
    send(
        &client,
        request(
            "GET",
            &proxy.url("/x"),
            &[("X-Headroom-Upstream", "bad")],
            "",
        ),
    )
    .await;
    assert_eq!(mock.requests().len(), 3, "health and stats were forwarded");

    let stats = send(&client, request("GET", &proxy.url("/stats"), &[], ""))
        .await
        .json();
    let entries = stats["upstreams"].as_array().unwrap();
    let find = |origin: &str, family: &str| {
        entries
            .iter()
            .find(|e| e["origin"] == origin && e["family"] == family)
            .unwrap_or_else(|| panic!("no {origin} {family} in {stats}"))
    };
    let anthropic = find(&upstream, "anthropic");
    assert_eq!(anthropic["requests"], 1);
    assert_eq!(anthropic["bytes_in"], 5);
    assert!(anthropic["bytes_out"].as_u64().unwrap() > 0);
    assert!(anthropic["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    let openai = find(&upstream, "openai");
    assert_eq!(openai["requests"], 2);
    assert_eq!(openai["errors"]["upstream_5xx"], 1);
    assert_eq!(find("(none)", "openai")["errors"]["bad_upstream_header"], 1);
}

#[tokio::test]
async fn one_json_log_event_per_request_and_no_secret_at_trace_level() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&["--log-level", "trace", "--log-format", "json"]);
    let upstream = mock.url();
    let secrets = [
        "sk-PLANTED-1",
        "ant-PLANTED-2",
        "goog-PLANTED-3",
        "azure-PLANTED-4",
        "q-PLANTED-5",
        "cookie-PLANTED-6",
    ];
    let headers = [
        ("X-Headroom-Upstream", upstream.as_str()),
        ("Authorization", "Bearer sk-PLANTED-1"),
        ("x-api-key", "ant-PLANTED-2"),
        ("x-goog-api-key", "goog-PLANTED-3"),
        ("api-key", "azure-PLANTED-4"),
        ("Cookie", "session=cookie-PLANTED-6"),
    ];
    let client = client();
    let path = "/v1beta/models/g:generateContent?key=q-PLANTED-5";
    let reply = send(&client, request("POST", &proxy.url(path), &headers, "{}")).await;
    assert_eq!(reply.status, 200);
    let refused = [
        ("X-Headroom-Upstream", "https://u:q-PLANTED-5@x.dev"),
        headers[1],
    ];
    let reply = send(&client, request("POST", &proxy.url(path), &refused, "{}")).await;
    assert_eq!(reply.status, 400);
    assert!(!reply.text().contains("PLANTED"));

    common::wait_until(Duration::from_secs(5), "two request log events", || {
        proxy
            .log()
            .matches("\"target\":\"headroom::request\"")
            .count()
            >= 2
    });
    let log = proxy.log();
    for secret in secrets {
        assert!(
            !log.contains(secret),
            "{secret} leaked into the log:\n{log}"
        );
    }
    let event: serde_json::Value = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|e| e["target"] == "headroom::request" && e["fields"]["status"] == 200)
        .expect("a request event");
    let fields = &event["fields"];
    assert_eq!(fields["method"], "POST");
    assert_eq!(fields["path"], "/v1beta/models/g:generateContent");
    assert_eq!(fields["upstream"], upstream.as_str());
    assert_eq!(fields["stripped_headers"], 1);
    assert_eq!(fields["bytes_in"], 2);
    let duration = &fields["duration_ms"];
    assert!(
        duration.as_f64().is_some(),
        "duration_ms {duration} is not a number"
    );
    let decimals = duration.to_string().split('.').nth(1).map_or(0, str::len);
    assert!(
        decimals <= 3,
        "duration_ms {duration} is finer than a microsecond"
    );
}

/// With `--log-format json`, a reader parses each line of stderr as JSON:
/// the line that says where the proxy listens is one too.
#[test]
fn with_json_logs_every_line_is_json_the_listening_line_included() {
    let proxy = ProxyProcess::start(&["--log-format", "json"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reply = runtime.block_on(send(
        &client(),
        request(
            "GET",
            &proxy.url("/v1/models"),
            &[("X-Headroom-Upstream", "bad")],
            "",
        ),
    ));
    assert_eq!(reply.status, 400);
    common::wait_until(Duration::from_secs(5), "a request log event", || {
        proxy.log().contains("\"target\":\"headroom::request\"")
    });
    let log = proxy.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let listening = format!("headroom proxy listening on http://{}", proxy.addr);
    assert_eq!(lines[0]["fields"]["message"], listening.as_str(), "{log}");
    assert_eq!(lines[0]["level"], "INFO", "{log}");
}

/// With `--log-format json`, the error that stops the start is a JSON line
/// too, and the exit code is the one the text format gives.
#[test]
fn with_json_logs_a_fatal_error_is_a_json_line() {
    let port = free_port().to_string();
    let upstream = format!("http://127.0.0.1:{port}");
    let (code, stderr) = ProxyProcess::refused_at_start(&[
        "--log-format",
        "json",
        "--port",
        &port,
        "--openai-upstream",
        &upstream,
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let line: serde_json::Value =
        serde_json::from_str(&stderr).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(line["level"], "ERROR", "{stderr}");
    let message = line["fields"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("would loop"), "{stderr}");
    assert!(line["timestamp"].is_string(), "{stderr}");
}

/// An LLM request's body is read whole for the compression stage: one that
/// stops coming ends with the idle timeout, as on its way upstream, rather
/// than holding the connection for as long as the client keeps it open.
#[test]
fn a_body_that_stops_coming_on_an_llm_route_gets_408_after_the_idle_timeout() {
    let mock = MockUpstream::start();
    let proxy = ProxyProcess::start(&["--idle-timeout", "300ms", "--openai-upstream", &mock.url()]);
    let started = Instant::now();
    // Read until a second of quiet: the answer, not the drain after it.
    let answer = raw::exchange(
        proxy.addr,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":\"x\",",
        Duration::from_secs(1),
    )
    .text();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("client_body_timeout"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// An outgoing proxy headroom cannot use would otherwise be dropped in
/// silence, and every upstream reached directly.
#[test]
fn an_outgoing_proxy_that_is_not_an_http_one_stops_the_start() {
    for (name, value) in [
        ("HTTPS_PROXY", "socks5://127.0.0.1:1080"),
        ("http_proxy", "garbage with space"),
    ] {
        let state = tempfile::tempdir().unwrap();
        let output = Command::new(BIN)
            .args(["proxy", "--port", "0"])
            .env(name, value)
            .env("XDG_STATE_HOME", state.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with(&format!("headroom: error: {name} ")),
            "{stderr}"
        );
        assert!(stderr.contains("http://HOST:PORT"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

/// A head refused before it became a request still counts: an operator
/// watching `/stats` or `/metrics` sees a client that sends malformed
/// requests.
#[tokio::test]
async fn a_refused_request_head_is_counted_in_the_stats_and_metrics() {
    let proxy = ProxyProcess::start(&[]);
    let answer = raw_exchange(proxy.addr, b"GET /v1/models HTTP/1.1\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let answer = raw_exchange(
        proxy.addr,
        b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 501 "), "{answer}");

    let client = client();
    let stats = send(&client, request("GET", &proxy.url("/stats"), &[], ""))
        .await
        .json();
    let entries = stats["upstreams"].as_array().unwrap();
    let none = |family: &str| {
        entries
            .iter()
            .find(|e| e["origin"] == "(none)" && e["family"] == family)
            .unwrap_or_else(|| panic!("no (none) {family} in {stats}"))
    };
    assert_eq!(none("openai")["errors"]["bad_request"], 1, "{stats}");
    assert_eq!(
        none("anthropic")["errors"]["unsupported_transfer_coding"],
        1,
        "{stats}"
    );
    let metrics = send(&client, request("GET", &proxy.url("/metrics"), &[], "")).await;
    let metrics = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(
        metrics.contains("headroom_errors_total{class=\"bad_request\"} 1\n"),
        "{metrics}"
    );
}
