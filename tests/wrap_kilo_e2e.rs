//! `headroom wrap kilo` with the real Kilo 7.7.7 against a mock upstream on
//! loopback, in an isolated HOME: a provider of the user's Kilo config and
//! the Kilo Gateway each answer a one-shot prompt through headroom, at the
//! base URL the user's setup names; the user's files are untouched, nothing
//! is left behind, and the exit code is Kilo's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::agents;
use common::mock::MockUpstream;
use common::opencode::Sandbox;
use serde_json::json;

const KEY: &str = "sk-kilo-e2e-user-key";
/// The `$schema` Kilo writes into a config file that lacks one.
const SCHEMA: &str = "https://app.kilo.ai/config.json";

fn kilo() -> PathBuf {
    agents::binary(
        option_env!("HEADROOM_TEST_KILO_BIN"),
        env!("HEADROOM_TEST_KILO_EXPECTED"),
        "npm install --prefix target/test-deps --ignore-scripts @kilocode/cli@7.7.7",
    )
}

/// A home and project for Kilo, with its background calls off.
fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    for (name, value) in [
        ("HEADROOM_KILO_BIN", kilo().display().to_string()),
        ("KILO_DISABLE_MODELS_FETCH", "1".into()),
        ("KILO_TELEMETRY_LEVEL", "off".into()),
        ("KILO_DISABLE_AUTOUPDATE", "1".into()),
    ] {
        sandbox.env.insert(name.into(), value);
    }
    sandbox
}

/// Writes the user's `kilo.jsonc` into the project.
fn project_config(sandbox: &Sandbox, config: &serde_json::Value) -> PathBuf {
    let file = sandbox.project().join("kilo.jsonc");
    let text = format!(
        "// the user's own\n{}\n",
        serde_json::to_string_pretty(config).unwrap()
    );
    std::fs::write(&file, text).unwrap();
    file
}

fn run_prompt(sandbox: &Sandbox, model: &str) -> std::process::Output {
    sandbox.run_headroom(&["wrap", "kilo", "--", "run", "-m", model, "say hi"])
}

#[test]
#[cfg_attr(
    kilo_missing,
    ignore = "Kilo 7.7.7 is not installed in target/test-deps: see .ci/run"
)]
fn a_one_shot_prompt_reaches_the_users_base_url_through_headroom() {
    let mock = MockUpstream::start();
    let sandbox = sandbox();
    let config = project_config(
        &sandbox,
        &json!({
            "$schema": SCHEMA,
            // Only the user's provider: the gateway has a test of its own.
            "disabled_providers": ["kilo"],
            "provider": {"mine": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Mine",
                "options": {"baseURL": format!("{}/prefix/v1", mock.url()), "apiKey": KEY},
                "models": {"mock-model": {"name": "Mock model"}},
            }},
        }),
    );
    let before = agents::snapshot(&[config]);
    let output = run_prompt(&sandbox, "mine/mock-model");
    agents::assert_completed(&output);
    agents::assert_routed_through_headroom(&mock, &output, "authorization", KEY);
    let targets: Vec<String> = mock.requests().into_iter().map(|r| r.target).collect();
    assert!(
        targets.contains(&"/prefix/v1/chat/completions".to_string()),
        "{targets:?}"
    );
    assert!(
        targets.iter().all(|t| t.starts_with("/prefix/v1/")),
        "{targets:?}"
    );
    agents::assert_unchanged(&before);
    agents::assert_nothing_left(&sandbox);
}

#[test]
#[cfg_attr(
    kilo_missing,
    ignore = "Kilo 7.7.7 is not installed in target/test-deps: see .ci/run"
)]
fn the_kilo_gateway_goes_through_headroom_to_kilo_api_url() {
    let mock = MockUpstream::start();
    let mut sandbox = sandbox();
    sandbox
        .env
        .insert("KILO_API_URL".into(), format!("{}/kilo", mock.url()));
    sandbox.env.insert("KILO_API_KEY".into(), KEY.into());
    // A model of the catalog Kilo ships.
    let output = run_prompt(&sandbox, "kilo/qwen/qwen3.7-max");
    agents::assert_completed(&output);
    // Kilo's account API (`/api/user`) is not LLM traffic and stays
    // direct; every request to the gateway went through headroom.
    let gateway: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.target.starts_with("/kilo/api/openrouter/"))
        .collect();
    let targets: Vec<&str> = gateway.iter().map(|r| r.target.as_str()).collect();
    assert!(
        targets.contains(&"/kilo/api/openrouter/chat/completions"),
        "{targets:?}"
    );
    for request in &gateway {
        assert!(
            request
                .headers
                .keys()
                .all(|n| !n.as_str().starts_with("x-headroom-")),
            "{request:?}"
        );
        let auth = request.header("authorization").unwrap_or_default();
        assert_eq!(auth, format!("Bearer {KEY}"), "{}", request.target);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "forwarded through the proxy: {} requests,",
            gateway.len()
        )),
        "{targets:?}: {stderr}"
    );
    agents::assert_nothing_left(&sandbox);
}

#[test]
#[cfg_attr(
    kilo_missing,
    ignore = "Kilo 7.7.7 is not installed in target/test-deps: see .ci/run"
)]
fn the_exit_code_is_kilos() {
    let mut sandbox = sandbox();
    // The gateway's model list fails at once instead of waiting on the
    // network.
    sandbox
        .env
        .insert("KILO_API_URL".into(), "http://127.0.0.1:9".into());
    // A model Kilo does not know: it says so and exits with a code of its own.
    let args = ["run", "-m", "nowhere/none", "say hi"];
    let wrapped = sandbox.run_headroom(&[&["wrap", "kilo", "--quiet", "--"][..], &args].concat());
    let mut alone = agents::alone(&sandbox, kilo());
    agents::assert_exit_is_the_agents(&wrapped, alone.args(args));
    agents::assert_nothing_left(&sandbox);
}
