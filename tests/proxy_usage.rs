//! The usage tap in `headroom proxy`: every successful answer on an LLM
//! route is read for the token usage it reports, on the request's log line
//! and in `/stats` per model, while the client gets the very bytes the
//! upstream sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::mock::{usage, MockUpstream};
use common::{client, family_defaults, request, send, wait_until, ProxyProcess};
use serde_json::{json, Value};

/// One request of the test: where it goes, and what it asks. Its answer
/// reports the figures `usage::read_at` gives for its path; a `None` figure
/// is absent from the log and adds nothing to `/stats`.
struct Case {
    path: &'static str,
    body: Value,
    headers: &'static [(&'static str, &'static str)],
    model: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            path: "/v1/chat/completions",
            body: json!({ "model": "chat-json" }),
            headers: &[],
            model: "chat-json",
        },
        Case {
            path: "/v1/chat/completions",
            body: json!({ "model": "chat-sse", "stream": true }),
            headers: &[],
            model: "chat-sse",
        },
        Case {
            path: "/v1/responses",
            body: json!({ "model": "responses-sse", "stream": true }),
            headers: &[],
            model: "responses-sse",
        },
        Case {
            path: "/v1/messages",
            body: json!({ "model": "claude-sse", "stream": true }),
            headers: &[],
            model: "claude-sse",
        },
        Case {
            path: "/v1/messages",
            body: json!({ "model": "claude-gzip" }),
            headers: &[("x-mock-gzip", "1")],
            model: "claude-gzip",
        },
        Case {
            path: "/v1beta/models/mock-model:generateContent",
            body: json!({}),
            headers: &[("x-mock-gzip", "1")],
            model: "mock-model",
        },
    ]
}

#[tokio::test]
async fn stats_and_the_log_carry_each_models_usage_and_the_bytes_pass_unchanged() {
    let mock = MockUpstream::start();
    let mut args = vec!["--log-format", "json"];
    let url = mock.url();
    args.extend(family_defaults(&url));
    let proxy = ProxyProcess::start(&args);
    let client = client();
    let cases = cases();
    for case in &cases {
        let body = case.body.to_string();
        let via_proxy = request("POST", &proxy.url(case.path), case.headers, body.clone());
        let got = send(&client, via_proxy).await;
        assert_eq!(got.status, 200, "{}: {}", case.path, got.text());
        let direct = request("POST", &format!("{url}{}", case.path), case.headers, body);
        let sent = send(&client, direct).await;
        assert_eq!(got.body, sent.body, "{} {} changed", case.path, case.model);
        if case.headers.is_empty() {
            assert!(got.text().contains("tokens"), "{}", got.text());
        } else {
            assert_eq!(got.headers["content-encoding"], "gzip");
        }
    }
    // Neither a failed answer nor a route without usage is counted.
    let refused = [("authorization", "Bearer FAIL401")];
    let failed = request("POST", &proxy.url("/v1/messages"), &refused, "{}");
    assert_eq!(send(&client, failed).await.status, 401);
    let listing = request("POST", &proxy.url("/v1/embeddings"), &[], "{}");
    assert_eq!(send(&client, listing).await.status, 200);

    let stats_url = proxy.url("/stats");
    // A watch ends as its body does, which may trail the client's last byte.
    let mut stats = Value::Null;
    for _ in 0..100 {
        stats = send(&client, request("GET", &stats_url, &[], ""))
            .await
            .json();
        if stats["models"].as_array().map_or(0, Vec::len) >= cases.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let models = stats["models"].as_array().unwrap();
    for case in &cases {
        let entry = models
            .iter()
            .find(|entry| entry["model"] == case.model)
            .unwrap_or_else(|| panic!("no {} in {stats}", case.model));
        assert_eq!(entry["requests"], 1, "{entry}");
        assert_eq!(entry["requests_without_usage"], 0, "{entry}");
        assert_eq!(entry["incomplete"], 0, "{entry}");
        for (figure, expected) in usage::FIGURES.iter().zip(usage::read_at(case.path)) {
            assert_eq!(entry[figure], expected.unwrap_or(0), "{figure} of {entry}");
        }
    }

    let log = proxy.log();
    let events: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["target"] == "headroom::request")
        .collect();
    for case in &cases {
        let event = events
            .iter()
            .find(|event| event["fields"]["model"] == case.model)
            .unwrap_or_else(|| panic!("no log line for {}:\n{log}", case.model));
        for (figure, expected) in usage::FIGURES.iter().zip(usage::read_at(case.path)) {
            assert_eq!(
                event["fields"].get(figure),
                expected.map(Value::from).as_ref(),
                "{figure} of {event}"
            );
        }
    }
    let unread = events
        .iter()
        .find(|event| event["fields"]["status"] == 401)
        .expect("the 401's line");
    for figure in ["model"].iter().chain(&usage::FIGURES) {
        assert!(unread["fields"].get(figure).is_none(), "{unread}");
    }
}

#[tokio::test]
async fn a_huge_or_unprintable_model_name_is_cut_and_made_printable() {
    let mock = MockUpstream::start();
    let mut args = vec!["--log-format", "json"];
    let url = mock.url();
    args.extend(family_defaults(&url));
    let proxy = ProxyProcess::start(&args);
    let client = client();
    // The mock answers with the model the request names, as providers do.
    let hostile = format!("evil\u{1b}[2J\u{202e}{}", "m".repeat(100_000));
    let body = json!({ "model": hostile }).to_string();
    let got = send(
        &client,
        request("POST", &proxy.url("/v1/chat/completions"), &[], body),
    )
    .await;
    assert_eq!(got.status, 200);

    let expected = format!("evil?[2J?{}…", "m".repeat(200 - "evil?[2J?".len()));
    let mut stats = Value::Null;
    for _ in 0..100 {
        stats = send(&client, request("GET", &proxy.url("/stats"), &[], ""))
            .await
            .json();
        if !stats["models"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stats["models"][0]["model"], expected, "{stats}");
    // The line reaches the captured stderr through a pipe: wait for it.
    let request_line = |log: &str| {
        log.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|event| event["target"] == "headroom::request")
    };
    wait_until(Duration::from_secs(5), "the request's log line", || {
        request_line(&proxy.log()).is_some()
    });
    let log = proxy.log();
    let event = request_line(&log).unwrap();
    assert_eq!(event["fields"]["model"], expected, "{event}");
    assert!(log.len() < 20_000, "the name reached the log whole");
}
