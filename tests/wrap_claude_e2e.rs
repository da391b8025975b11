//! `headroom wrap claude` with the real Claude Code 2.1.197 against a mock
//! Anthropic API on loopback, in an isolated HOME whose settings.json names
//! the mock as ANTHROPIC_BASE_URL: the prompt completes through headroom,
//! the user's files are untouched, nothing is left behind, and the exit
//! code is Claude Code's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::agents;
use common::mock::MockUpstream;
use common::opencode::Sandbox;
use serde_json::json;

const KEY: &str = "sk-ant-e2e-user-key";

fn claude() -> PathBuf {
    agents::binary(
        option_env!("HEADROOM_TEST_CLAUDE_BIN"),
        env!("HEADROOM_TEST_CLAUDE_EXPECTED"),
        "npm install --prefix target/test-deps --ignore-scripts @anthropic-ai/claude-code@2.1.197",
    )
}

/// A home whose Claude Code settings point at `base_url`, with an API key
/// in the environment and Claude Code's background traffic off.
fn sandbox(base_url: &str, key: &str) -> (Sandbox, PathBuf) {
    let mut sandbox = Sandbox::new();
    let settings = sandbox.root.path().join("home/.claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let text = json!({"env": {"ANTHROPIC_BASE_URL": base_url}, "theme": "dark"});
    std::fs::write(&settings, serde_json::to_string_pretty(&text).unwrap()).unwrap();
    for (name, value) in [
        ("HEADROOM_CLAUDE_BIN", claude().display().to_string()),
        ("ANTHROPIC_API_KEY", key.to_string()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
        ("DISABLE_AUTOUPDATER", "1".into()),
        (
            "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL",
            "1".into(),
        ),
    ] {
        sandbox.env.insert(name.into(), value);
    }
    (sandbox, settings)
}

#[test]
#[cfg_attr(
    claude_missing,
    ignore = "Claude Code 2.1.197 is not installed in target/test-deps: see .ci/run"
)]
fn a_one_shot_prompt_reaches_the_users_base_url_through_headroom() {
    let mock = MockUpstream::start();
    let (sandbox, settings) = sandbox(&format!("{}/anthropic", mock.url()), KEY);
    let before = agents::snapshot(&[settings]);
    let output = sandbox.run_headroom(&["wrap", "claude", "--", "-p", "say hi"]);
    agents::assert_completed(&output);
    agents::assert_routed_through_headroom(&mock, &output, "x-api-key", KEY);
    let messages = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == http::Method::POST && r.target.contains("/v1/messages"))
        .count();
    assert!(messages > 0, "no /v1/messages request");
    // The settings' base URL keeps its path prefix.
    assert!(
        mock.requests()
            .iter()
            .all(|r| r.target.starts_with("/anthropic/")),
        "{:?}",
        mock.requests()
            .iter()
            .map(|r| &r.target)
            .collect::<Vec<_>>()
    );
    agents::assert_unchanged(&before);
    agents::assert_nothing_left(&sandbox);
}

#[test]
#[cfg_attr(
    claude_missing,
    ignore = "Claude Code 2.1.197 is not installed in target/test-deps: see .ci/run"
)]
fn the_exit_code_is_claude_codes() {
    let mock = MockUpstream::start();
    let (sandbox, _) = sandbox(&mock.url(), KEY);
    // Claude Code refuses a flag it does not know, with an exit code of its
    // own (it retries a failing API for minutes).
    let args = ["-p", "--no-such-flag", "say hi"];
    let wrapped = sandbox.run_headroom(&[&["wrap", "claude", "--quiet", "--"][..], &args].concat());
    // The same run without headroom.
    let mut alone = agents::alone(&sandbox, claude());
    agents::assert_exit_is_the_agents(&wrapped, alone.args(args));
    agents::assert_nothing_left(&sandbox);
}
