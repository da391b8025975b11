//! `headroom wrap codex` with the real Codex 0.171.0 against a mock
//! Responses API on loopback, in an isolated HOME whose config.toml selects
//! a provider at the mock: `codex exec` completes through headroom over
//! HTTP, the user's config is untouched, nothing is left behind, and the
//! exit code is Codex's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::agents;
use common::mock::MockUpstream;
use common::opencode::Sandbox;

const KEY: &str = "sk-codex-e2e-user-key";

/// Codex's background calls off, for the tests only.
const QUIET: [&str; 6] = [
    "-c",
    "analytics.enabled=false",
    "-c",
    "features.plugins=false",
    "-c",
    "check_for_update_on_startup=false",
];

fn codex() -> PathBuf {
    agents::binary(
        option_env!("HEADROOM_TEST_CODEX_BIN"),
        env!("HEADROOM_TEST_CODEX_EXPECTED"),
        "npm install --prefix target/test-deps --ignore-scripts @openai/codex@0.171.0",
    )
}

/// A home whose Codex config selects provider `mock` at `base_url`, keyed
/// by `MOCK_API_KEY`.
fn sandbox(base_url: &str, key: &str) -> (Sandbox, PathBuf) {
    let mut sandbox = Sandbox::new();
    let config = sandbox.root.path().join("home/.codex/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "model = \"mock-model\"\nmodel_provider = \"mock\"\n\n[model_providers.mock]\nname = \"Mock\"\nbase_url = \"{base_url}\"\nenv_key = \"MOCK_API_KEY\"\nwire_api = \"responses\"\n"
        ),
    )
    .unwrap();
    sandbox
        .env
        .insert("HEADROOM_CODEX_BIN".into(), codex().display().to_string());
    sandbox.env.insert("MOCK_API_KEY".into(), key.into());
    (sandbox, config)
}

fn exec_args(prompt: &str) -> Vec<&str> {
    let mut args = vec!["wrap", "codex", "--"];
    args.extend(QUIET);
    args.extend(["exec", "--skip-git-repo-check", prompt]);
    args
}

#[test]
#[cfg_attr(
    codex_missing,
    ignore = "Codex 0.171.0 is not installed in target/test-deps: see .ci/run"
)]
fn codex_exec_reaches_the_configured_provider_through_headroom() {
    let mock = MockUpstream::start();
    let (sandbox, config) = sandbox(&format!("{}/gateway/v1", mock.url()), KEY);
    let before = agents::snapshot(&[config]);
    let output = sandbox.run_headroom(&exec_args("say hi"));
    agents::assert_completed(&output);
    agents::assert_routed_through_headroom(&mock, &output, "authorization", KEY);
    let requests = mock.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.method == http::Method::POST && r.target == "/gateway/v1/responses"),
        "{:?}",
        requests.iter().map(|r| &r.target).collect::<Vec<_>>()
    );
    assert!(
        requests.iter().all(|r| r.header("upgrade").is_none()),
        "Codex tried its WebSocket transport"
    );
    agents::assert_unchanged(&before);
    agents::assert_nothing_left(&sandbox);
}

#[test]
#[cfg_attr(
    codex_missing,
    ignore = "Codex 0.171.0 is not installed in target/test-deps: see .ci/run"
)]
fn the_exit_code_is_codexs() {
    let mock = MockUpstream::start();
    let (sandbox, _) = sandbox(&format!("{}/v1", mock.url()), KEY);
    // Codex refuses a flag it does not know, with an exit code of its own.
    let wrapped = sandbox.run_headroom(&exec_args("--no-such-flag"));
    let mut alone = agents::alone(&sandbox, codex());
    agents::assert_exit_is_the_agents(
        &wrapped,
        alone
            .args(QUIET)
            .args(["exec", "--skip-git-repo-check", "--no-such-flag"]),
    );
    agents::assert_nothing_left(&sandbox);
}
