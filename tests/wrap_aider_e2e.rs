//! `headroom wrap aider` with the real Aider 0.86.2 against a mock LLM on
//! loopback, in an isolated HOME: a one-shot prompt completes through
//! headroom for each family litellm routes (OpenAI, Anthropic, Gemini),
//! at the base URL the user's own setup names (aider's config file, a
//! `.env` file, the environment); the user's files are untouched, nothing
//! is left behind, and the exit code is Aider's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::agents;
use common::mock::MockUpstream;
use common::opencode::Sandbox;

fn aider() -> PathBuf {
    agents::binary(
        option_env!("HEADROOM_TEST_AIDER_BIN"),
        env!("HEADROOM_TEST_AIDER_EXPECTED"),
        "python3 -m venv target/test-deps/aider && target/test-deps/aider/bin/pip install aider-chat==0.86.2",
    )
}

/// A sandbox for aider with its background calls off, for the test only:
/// no update check or analytics (by flags, since `AIDER_ANALYTICS_DISABLE`
/// writes a file), and the model price list taken from litellm's own copy
/// and a cache in the sandbox rather than fetched from the web.
fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    let cache = sandbox
        .root
        .path()
        .join("home/.aider/caches/model_prices_and_context_window.json");
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(&cache, r#"{"headroom-test-model": {"mode": "chat"}}"#).unwrap();
    sandbox
        .env
        .insert("HEADROOM_AIDER_BIN".into(), aider().display().to_string());
    sandbox
        .env
        .insert("LITELLM_LOCAL_MODEL_COST_MAP".into(), "True".into());
    sandbox
}

/// A one-shot prompt to `model`, as the user would give it to aider.
fn one_shot(model: &str) -> Vec<String> {
    [
        "--model",
        model,
        "--message",
        "say hi",
        "--yes-always",
        "--no-git",
        "--no-analytics",
        "--no-check-update",
        "--no-show-release-notes",
    ]
    .map(String::from)
    .to_vec()
}

fn wrap(sandbox: &Sandbox, aider_args: &[String]) -> std::process::Output {
    let mut args = vec!["wrap", "aider", "--"];
    args.extend(aider_args.iter().map(String::as_str));
    sandbox.run_headroom(&args)
}

#[test]
#[cfg_attr(
    aider_missing,
    ignore = "Aider 0.86.2 is not installed in target/test-deps/aider: see .ci/run"
)]
fn an_openai_base_url_in_aiders_config_file_is_the_upstream() {
    let mock = MockUpstream::start();
    let mut sandbox = sandbox();
    let key = "sk-aider-e2e-openai";
    sandbox.env.insert("OPENAI_API_KEY".into(), key.into());
    let config = sandbox.root.path().join("home/.aider.conf.yml");
    let text = format!(
        "openai-api-base: {}/openai/v1\ndark-mode: true\n",
        mock.url()
    );
    std::fs::write(&config, text).unwrap();
    let before = agents::snapshot(&[config]);
    let output = wrap(&sandbox, &one_shot("gpt-4o"));
    agents::assert_completed(&output);
    agents::assert_routed_through_headroom(&mock, &output, "authorization", key);
    agents::assert_targets(&mock, "/openai/v1/", "/chat/completions");
    agents::assert_unchanged(&before);
    agents::assert_nothing_left(&sandbox);
}

#[test]
#[cfg_attr(
    aider_missing,
    ignore = "Aider 0.86.2 is not installed in target/test-deps/aider: see .ci/run"
)]
fn an_anthropic_base_url_in_a_dotenv_file_is_the_upstream() {
    let mock = MockUpstream::start();
    let sandbox = sandbox();
    let key = "sk-ant-aider-e2e";
    // A .env file overrides the environment in aider, so headroom adds an
    // env file of its own after it; without it the request would reach
    // the mock directly, not through headroom.
    let dotenv = sandbox.project().join(".env");
    let text = format!(
        "ANTHROPIC_API_KEY={key}\nANTHROPIC_API_BASE={}/anthropic\n",
        mock.url()
    );
    std::fs::write(&dotenv, text).unwrap();
    let before = agents::snapshot(&[dotenv]);
    let output = wrap(&sandbox, &one_shot("anthropic/claude-3-5-haiku-20241022"));
    agents::assert_completed(&output);
    agents::assert_routed_through_headroom(&mock, &output, "x-api-key", key);
    agents::assert_targets(&mock, "/anthropic/", "/v1/messages");
    agents::assert_unchanged(&before);
    agents::assert_nothing_left(&sandbox);
}

#[test]
#[cfg_attr(
    aider_missing,
    ignore = "Aider 0.86.2 is not installed in target/test-deps/aider: see .ci/run"
)]
fn a_gemini_base_url_in_the_environment_is_the_upstream() {
    let mock = MockUpstream::start();
    let mut sandbox = sandbox();
    let key = "gemini-aider-e2e-key";
    sandbox.env.insert("GEMINI_API_KEY".into(), key.into());
    sandbox.env.insert(
        "GEMINI_API_BASE".into(),
        format!("{}/gemini/v1beta", mock.url()),
    );
    let output = wrap(&sandbox, &one_shot("gemini/gemini-2.0-flash"));
    agents::assert_completed(&output);
    agents::assert_routed_through_headroom(&mock, &output, "x-goog-api-key", key);
    agents::assert_targets(&mock, "/gemini/v1beta/models/", ":streamGenerateContent");
    agents::assert_nothing_left(&sandbox);
}

#[test]
#[cfg_attr(
    aider_missing,
    ignore = "Aider 0.86.2 is not installed in target/test-deps/aider: see .ci/run"
)]
fn the_exit_code_is_aiders() {
    let mut sandbox = sandbox();
    sandbox
        .env
        .insert("OPENAI_API_KEY".into(), "sk-aider-e2e".into());
    let mut args = one_shot("gpt-4o");
    args.push("--no-such-flag".into());
    let wrapped = sandbox.run_headroom(
        &[
            &["wrap", "aider", "--quiet", "--"][..],
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    let mut alone = agents::alone(&sandbox, aider());
    agents::assert_exit_is_the_agents(&wrapped, alone.args(&args));
    agents::assert_nothing_left(&sandbox);
}
