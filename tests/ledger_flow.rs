//! `headroom proxy` writes one ledger row per LLM request it forwards,
//! priced from the catalog, and `headroom usage` reads them back: the
//! sums per model are the mock's figures exactly. `--no-ledger` writes
//! nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::mock::{usage, MockUpstream};
use common::{client, family_defaults, request, send, ProxyProcess, BIN};
use headroom::usage::{prices, Usage};
use serde_json::{json, Value};

type Headers = &'static [(&'static str, &'static str)];

/// Path, body, headers, and the model the answer names.
type Case = (&'static str, Value, Headers, &'static str);

/// Two are priced models, so their rows carry a cost.
fn cases() -> Vec<Case> {
    vec![
        (
            "/v1/chat/completions",
            json!({ "model": "gpt-4o-mini" }),
            &[],
            "gpt-4o-mini",
        ),
        (
            "/v1/chat/completions",
            json!({ "model": "chat-sse", "stream": true }),
            &[],
            "chat-sse",
        ),
        (
            "/v1/responses",
            json!({ "model": "responses-sse", "stream": true }),
            &[],
            "responses-sse",
        ),
        (
            "/v1/messages",
            json!({ "model": "claude-sonnet-4-5", "stream": true }),
            &[],
            "claude-sonnet-4-5",
        ),
        (
            "/v1beta/models/mock-model:generateContent",
            json!({}),
            &[("x-mock-gzip", "1")],
            "mock-model",
        ),
    ]
}

fn state_env(dir: &Path) -> [(&str, &str); 1] {
    [("XDG_STATE_HOME", dir.to_str().unwrap())]
}

fn usage_json(state: &Path, by: &str) -> Vec<Value> {
    let output = Command::new(BIN)
        .args(["usage", "--json", "--by", by, "--since", "1d"])
        .env("XDG_STATE_HOME", state)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let rows: Value = serde_json::from_slice(&output.stdout).unwrap();
    rows.as_array().unwrap().clone()
}

fn read_usage(model: &str, path: &str) -> Usage {
    let [input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens] =
        usage::read_at(path);
    Usage {
        model: Some(model.into()),
        input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        output_tokens,
        reasoning_tokens,
        complete: true,
    }
}

#[tokio::test]
async fn every_llm_request_lands_as_one_priced_row_read_back_by_headroom_usage() {
    let state = tempfile::tempdir().unwrap();
    let mock = MockUpstream::start();
    let url = mock.url();
    let mut proxy = ProxyProcess::start_with_env(&family_defaults(&url), &state_env(state.path()));
    let client = client();
    let cases = cases();
    for (path, body, headers, model) in &cases {
        let got = send(
            &client,
            request("POST", &proxy.url(path), headers, body.to_string()),
        )
        .await;
        assert_eq!(got.status, 200, "{path} {model}: {}", got.text());
    }
    // An error is a request too, its usage unknown; a route that is no
    // LLM call is not one.
    let refused = [("authorization", "Bearer FAIL401")];
    let failed = request("POST", &proxy.url("/v1/messages"), &refused, "{}");
    assert_eq!(send(&client, failed).await.status, 401);
    let listing = request("GET", &proxy.url("/v1/models"), &[], "");
    send(&client, listing).await;
    let embeddings = request("POST", &proxy.url("/v1/embeddings"), &[], "{}");
    send(&client, embeddings).await;
    // The last rows land at shutdown.
    assert!(proxy.stop_with("TERM").success(), "{}", proxy.log());

    let rows = usage_json(state.path(), "model");
    assert_eq!(rows.len(), cases.len() + 1, "{rows:?}");
    for (path, _, _, model) in &cases {
        let row = rows
            .iter()
            .find(|row| row["model"] == *model)
            .unwrap_or_else(|| panic!("no {model} in {rows:?}"));
        assert_eq!(row["requests"], 1, "{row}");
        for (figure, expected) in usage::FIGURES.iter().zip(usage::read_at(path)) {
            assert_eq!(row[figure], expected.unwrap_or(0), "{figure} of {row}");
        }
        let cost = prices::cost(model, None, &read_usage(model, path));
        let expected = cost.map(|cost| (cost * 1e6).round() / 1e6);
        assert_eq!(row["cost_usd"], json!(expected), "{row}");
    }
    for priced in ["gpt-4o-mini", "claude-sonnet-4-5"] {
        let row = rows.iter().find(|row| row["model"] == priced).unwrap();
        assert!(row["cost_usd"].as_f64().unwrap() > 0.0, "{row}");
    }
    let unknown = rows.iter().find(|row| row["model"].is_null()).unwrap();
    assert_eq!(unknown["requests"], 1, "the 401: {unknown}");
    assert_eq!(unknown["input_tokens"], 0, "{unknown}");

    let agents = usage_json(state.path(), "agent");
    assert_eq!(
        agents
            .iter()
            .map(|row| (row["agent"].clone(), row["requests"].clone()))
            .collect::<Vec<_>>(),
        [(json!("proxy"), json!(cases.len() + 1))]
    );
    let providers = usage_json(state.path(), "provider");
    assert_eq!(providers.len(), 1, "{providers:?}");
    assert!(
        providers[0]["provider"].is_null(),
        "standalone: {providers:?}"
    );
}

#[tokio::test]
async fn no_ledger_writes_no_database() {
    let state = tempfile::tempdir().unwrap();
    let mock = MockUpstream::start();
    let url = mock.url();
    let mut args = vec!["--no-ledger"];
    args.extend(family_defaults(&url));
    let mut proxy = ProxyProcess::start_with_env(&args, &state_env(state.path()));
    let body = json!({ "model": "gpt-4o-mini" }).to_string();
    let got = send(
        &client(),
        request("POST", &proxy.url("/v1/chat/completions"), &[], body),
    )
    .await;
    assert_eq!(got.status, 200);
    assert!(proxy.stop_with("TERM").success(), "{}", proxy.log());
    assert!(
        !state.path().join("headroom/usage.db").exists(),
        "a ledger was written"
    );
    assert_eq!(usage_json(state.path(), "model"), Vec::<Value>::new());
}

/// The `--json` row of `rows` whose `key` is `value`.
fn row_where<'a>(rows: &'a [Value], key: &str, value: &Value) -> &'a Value {
    rows.iter()
        .find(|row| row[key] == *value)
        .unwrap_or_else(|| panic!("no {key} {value} in {rows:?}"))
}

#[tokio::test]
async fn a_row_takes_the_provider_the_request_names_and_the_model_it_asks_for() {
    let state = tempfile::tempdir().unwrap();
    let mock = MockUpstream::start();
    let url = mock.url();
    let mut proxy = ProxyProcess::start_with_env(&family_defaults(&url), &state_env(state.path()));
    let client = client();
    let post = |path: &str, headers: &[(&str, &str)], body: Value| {
        request("POST", &proxy.url(path), headers, body.to_string())
    };
    // Answers that name no model: the request's model stands.
    let unnamed = ("x-mock-no-model", "1");
    let chat = post(
        "/v1/chat/completions",
        &[("x-headroom-provider", "groq"), unnamed],
        json!({ "model": "asked-chat", "messages": [] }),
    );
    assert_eq!(send(&client, chat).await.status, 200);
    let gemini = post(
        "/v1beta/models/gemini-from-path:generateContent",
        &[unnamed],
        json!({ "contents": [] }),
    );
    assert_eq!(send(&client, gemini).await.status, 200);
    let refused = post(
        "/v1/messages",
        &[
            ("x-headroom-provider", "anthropic"),
            ("x-api-key", "FAIL401"),
        ],
        json!({ "max_tokens": 5, "model": "claude-refused" }),
    );
    assert_eq!(send(&client, refused).await.status, 401);
    for bad in [
        &[("x-headroom-provider", "two words")][..],
        &[("x-headroom-provider", "a"), ("x-headroom-provider", "b")],
    ] {
        let got = send(&client, post("/v1/chat/completions", bad, json!({}))).await;
        assert_eq!(got.status, 400, "{bad:?}: {}", got.text());
        assert_eq!(got.headers["x-headroom-error"], "bad_provider_header");
        assert!(got.text().contains("X-Headroom-Provider"), "{}", got.text());
    }
    assert!(proxy.stop_with("TERM").success(), "{}", proxy.log());
    assert_eq!(
        mock.requests().len(),
        3,
        "the refused requests went upstream"
    );
    for seen in mock.requests() {
        assert!(seen.header("x-headroom-provider").is_none(), "{seen:?}");
    }

    let providers = usage_json(state.path(), "provider");
    assert_eq!(providers.len(), 3, "{providers:?}");
    assert_eq!(
        row_where(&providers, "provider", &json!("groq"))["requests"],
        1
    );
    assert_eq!(
        row_where(&providers, "provider", &json!("anthropic"))["requests"],
        1
    );
    assert_eq!(
        row_where(&providers, "provider", &Value::Null)["requests"],
        3
    );

    let models = usage_json(state.path(), "model");
    for (model, path) in [
        ("asked-chat", "/v1/chat/completions"),
        ("gemini-from-path", "/v1beta/models/x:generateContent"),
    ] {
        let row = row_where(&models, "model", &json!(model));
        assert_eq!(row["requests"], 1, "{row}");
        for (figure, expected) in usage::FIGURES.iter().zip(usage::read_at(path)) {
            assert_eq!(row[figure], expected.unwrap_or(0), "{figure} of {row}");
        }
    }
    let refused = row_where(&models, "model", &json!("claude-refused"));
    assert_eq!(
        (&refused["requests"], &refused["input_tokens"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(row_where(&models, "model", &Value::Null)["requests"], 2);
}
