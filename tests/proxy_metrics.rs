//! `GET /metrics`: the proxy's counters in the Prometheus text format,
//! read back by a checker of the format's rules, with the values of the
//! requests the test made.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::mock::{usage, MockUpstream};
use common::prometheus::{self, Exposition};
use common::{client, family_defaults, free_port, request, send, ProxyProcess, TestClient};
use serde_json::json;

async fn scrape(client: &TestClient, proxy: &ProxyProcess) -> (String, Exposition) {
    let got = send(client, request("GET", &proxy.url("/metrics"), &[], "")).await;
    assert_eq!(got.status, 200);
    let content_type = got.headers["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = got.text();
    let exposition = prometheus::parse(&text);
    (text, exposition)
}

#[tokio::test]
async fn metrics_count_the_requests_bytes_tokens_and_durations_made() {
    let mock = MockUpstream::start();
    let url = mock.url();
    let proxy = ProxyProcess::start(&family_defaults(&url));
    let client = client();
    // Per family: request body bytes sent, response body bytes received.
    let mut bytes = [(0usize, 0usize); 2];
    let chat = json!({ "model": "m-chat" }).to_string();
    for _ in 0..2 {
        let got = send(
            &client,
            request(
                "POST",
                &proxy.url("/v1/chat/completions"),
                &[],
                chat.clone(),
            ),
        )
        .await;
        assert_eq!(got.status, 200);
        bytes[0].0 += chat.len();
        bytes[0].1 += got.body.len();
    }
    let listing = send(&client, request("GET", &proxy.url("/v1/models"), &[], "")).await;
    bytes[0].1 += listing.body.len();
    let claude = json!({ "model": "m-claude", "stream": true }).to_string();
    let refused = json!({ "model": "m-refused" }).to_string();
    for (key, body, status) in [("ok", &claude, 200), ("FAIL401", &refused, 401)] {
        let headers = [("x-api-key", key)];
        let messages = request("POST", &proxy.url("/v1/messages"), &headers, body.clone());
        let got = send(&client, messages).await;
        assert_eq!(got.status, status);
        bytes[1].0 += body.len();
        bytes[1].1 += got.body.len();
    }
    let down = format!("http://127.0.0.1:{}", free_port());
    let unreachable = [("x-headroom-upstream", down.as_str())];
    let failed = request("POST", &proxy.url("/v1/chat/completions"), &unreachable, "");
    assert_eq!(send(&client, failed).await.status, 502);

    // An exchange is counted when its body ends, which may trail the
    // client's last byte.
    let mut scraped = scrape(&client, &proxy).await;
    for _ in 0..100 {
        if scraped.1.sum("headroom_requests_total", &[]) >= 6.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        scraped = scrape(&client, &proxy).await;
    }
    let (text, metrics) = scraped;
    let requests = |family, status| {
        let labels = [("family", family), ("status", status)];
        metrics.value("headroom_requests_total", &labels)
    };
    assert_eq!(requests("openai", "2xx"), Some(3.0), "{text}");
    assert_eq!(requests("openai", "5xx"), Some(1.0), "{text}");
    assert_eq!(requests("anthropic", "2xx"), Some(1.0), "{text}");
    assert_eq!(requests("anthropic", "4xx"), Some(1.0), "{text}");
    assert_eq!(metrics.sum("headroom_requests_total", &[]), 6.0, "{text}");
    let errors = |class| metrics.value("headroom_errors_total", &[("class", class)]);
    assert_eq!(errors("upstream_4xx"), Some(1.0), "{text}");
    assert_eq!(errors("upstream_connect"), Some(1.0), "{text}");
    assert_eq!(metrics.sum("headroom_errors_total", &[]), 2.0, "{text}");

    for (family, (sent, received)) in ["openai", "anthropic"].into_iter().zip(bytes) {
        let labels = [("family", family)];
        let value = |name| metrics.value(name, &labels);
        assert_eq!(
            value("headroom_request_bytes_total"),
            Some(sent as f64),
            "{text}"
        );
        assert_eq!(
            value("headroom_response_bytes_total"),
            Some(received as f64),
            "{text}"
        );
        let count = metrics.value("headroom_request_duration_seconds_count", &labels);
        let all = metrics.sum("headroom_requests_total", &labels);
        assert_eq!(count, Some(all), "{family}: {text}");
    }

    let kinds = ["input", "cache_read", "cache_write", "output", "reasoning"];
    for (model, path, times) in [
        ("m-chat", "/v1/chat/completions", 2),
        ("m-claude", "/v1/messages", 1),
    ] {
        for (kind, figure) in kinds.iter().zip(usage::read_at(path)) {
            let labels = [("model", model), ("kind", *kind)];
            let expected = (figure.unwrap_or(0) * times) as f64;
            assert_eq!(
                metrics.value("headroom_tokens_total", &labels),
                Some(expected),
                "{model} {kind}: {text}"
            );
        }
    }
    assert_eq!(
        metrics.sum("headroom_tokens_total", &[("model", "m-refused")]),
        0.0,
        "an error reports no usage: {text}"
    );
    assert_eq!(
        metrics.types["headroom_request_duration_seconds"],
        "histogram"
    );
}

/// The checker refuses what breaks the format's rules, so that a pass
/// above means something.
#[test]
fn the_format_checker_refuses_broken_text() {
    let good = "# HELP h_seconds H.\n# TYPE h_seconds histogram\n\
        h_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"+Inf\"} 2\n\
        h_seconds_sum 3.5\nh_seconds_count 2\n";
    assert_eq!(prometheus::parse(good).samples.len(), 4);
    let broken = [
        good.replace("le=\"1\"} 1", "le=\"1\"} 3"),
        good.replace("le=\"+Inf\"", "le=\"2\""),
        good.replace("h_seconds_count 2", "h_seconds_count 5"),
        good.replace("h_seconds_sum 3.5\n", ""),
        good.replace("# HELP h_seconds H.\n", ""),
        format!("{good}# TYPE h_seconds histogram\n"),
        format!("{good}# HELP c_total C.\n# TYPE c_total counter\nc_total -1\n"),
        format!(
            "# HELP c_total C.\n# TYPE c_total counter\nc_total 1\n{good}c_total{{a=\"b\"}} 1\n"
        ),
        format!("{good}untyped_total 1\n"),
        good.trim_end().to_string(),
    ];
    for text in broken {
        let checked = std::panic::catch_unwind(|| prometheus::parse(&text));
        assert!(checked.is_err(), "accepted:\n{text}");
    }
}
