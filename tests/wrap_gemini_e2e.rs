//! `headroom wrap gemini` with the real Gemini CLI 0.61.0 against a mock
//! Gemini API on loopback, in an isolated HOME whose `~/.gemini/.env` names
//! the mock as GOOGLE_GEMINI_BASE_URL: the prompt completes through
//! headroom with the user's API key, the user's files are untouched,
//! nothing is left behind, and the exit code is Gemini CLI's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::agents::{self, describe};
use common::mock::MockUpstream;
use common::opencode::Sandbox;
use serde_json::json;

const KEY: &str = "AIza-e2e-user-key";

fn gemini() -> PathBuf {
    agents::binary(
        option_env!("HEADROOM_TEST_GEMINI_BIN"),
        env!("HEADROOM_TEST_GEMINI_EXPECTED"),
        "npm install --prefix target/test-deps --ignore-scripts @google/gemini-cli@0.61.0",
    )
}

/// A home whose Gemini CLI settings turn its background calls off and
/// whose `.env` names `base_url`; an API key in the environment. Gemini
/// CLI reads system settings only from directories no one else can write,
/// so headroom's private directory is put under target/, not /tmp.
struct GeminiSandbox {
    sandbox: Sandbox,
    runtime: tempfile::TempDir,
    files: Vec<PathBuf>,
}

fn sandbox(base_url: &str) -> GeminiSandbox {
    let mut sandbox = Sandbox::new();
    let gemini_dir = sandbox.root.path().join("home/.gemini");
    std::fs::create_dir_all(&gemini_dir).unwrap();
    let settings = gemini_dir.join("settings.json");
    let text = json!({
        "privacy": {"usageStatisticsEnabled": false},
        "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
    });
    std::fs::write(&settings, serde_json::to_string_pretty(&text).unwrap()).unwrap();
    let dotenv = gemini_dir.join(".env");
    std::fs::write(&dotenv, format!("GOOGLE_GEMINI_BASE_URL={base_url}\n")).unwrap();
    let runtime = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for (name, value) in [
        ("HEADROOM_GEMINI_BIN", gemini().display().to_string()),
        ("GEMINI_API_KEY", KEY.to_string()),
        ("GEMINI_CLI_TRUST_WORKSPACE", "true".into()),
        ("XDG_RUNTIME_DIR", runtime.path().display().to_string()),
    ] {
        sandbox.env.insert(name.into(), value);
    }
    GeminiSandbox {
        sandbox,
        runtime,
        files: vec![settings, dotenv],
    }
}

impl GeminiSandbox {
    /// `headroom wrap gemini` with a one-shot prompt to gemini-2.5-flash.
    fn say_hi(&self) -> std::process::Output {
        let args = ["-m", "gemini-2.5-flash", "-p", "say hi"];
        let wrap = ["wrap", "gemini", "--"];
        self.sandbox.run_headroom(&[&wrap[..], &args].concat())
    }

    fn assert_nothing_left(&self) {
        agents::assert_nothing_left(&self.sandbox);
        let runs = self.runtime.path().join("headroom");
        let left: Vec<_> = std::fs::read_dir(&runs)
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        assert!(left.is_empty(), "left in {runs:?}: {left:?}");
    }
}

#[test]
#[cfg_attr(
    gemini_missing,
    ignore = "Gemini CLI 0.61.0 is not installed in target/test-deps: see .ci/run"
)]
fn a_one_shot_prompt_reaches_the_users_base_url_through_headroom() {
    let mock = MockUpstream::start();
    let home = sandbox(&format!("{}/gemini", mock.url()));
    let before = agents::snapshot(&home.files);
    let output = home.say_hi();
    agents::assert_completed(&output);
    agents::assert_routed_through_headroom(&mock, &output, "x-goog-api-key", KEY);
    let targets: Vec<String> = mock.requests().into_iter().map(|r| r.target).collect();
    assert!(
        targets
            .iter()
            .any(|t| t.starts_with("/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent")),
        "{targets:?}"
    );
    // The `.env`'s base URL keeps its path prefix.
    assert!(
        targets.iter().all(|t| t.starts_with("/gemini/")),
        "{targets:?}"
    );
    agents::assert_unchanged(&before);
    home.assert_nothing_left();
}

#[test]
#[cfg_attr(
    gemini_missing,
    ignore = "Gemini CLI 0.61.0 is not installed in target/test-deps: see .ci/run"
)]
fn settings_that_select_the_api_key_need_no_system_file() {
    let mock = MockUpstream::start();
    let mut home = sandbox(&mock.url());
    let settings = json!({
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": false},
        "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
    });
    std::fs::write(&home.files[0], settings.to_string()).unwrap();
    // headroom's private directory under /tmp, where Gemini CLI would
    // refuse a system settings file: none is handed over.
    home.sandbox.env.remove("XDG_RUNTIME_DIR");
    let before = agents::snapshot(&home.files);
    let output = home.say_hi();
    agents::assert_completed(&output);
    agents::assert_routed_through_headroom(&mock, &output, "x-goog-api-key", KEY);
    agents::assert_unchanged(&before);
    home.assert_nothing_left();
}

#[test]
#[cfg_attr(
    gemini_missing,
    ignore = "Gemini CLI 0.61.0 is not installed in target/test-deps: see .ci/run"
)]
fn the_exit_code_is_gemini_clis() {
    let mock = MockUpstream::start();
    let home = sandbox(&mock.url());
    // An approval mode Gemini CLI does not know: it refuses it with a code
    // of its own.
    let args = ["--approval-mode", "nonsense", "-p", "say hi"];
    let wrapped = home
        .sandbox
        .run_headroom(&[&["wrap", "gemini", "--quiet", "--"][..], &args].concat());
    let mut alone = agents::alone(&home.sandbox, gemini());
    agents::assert_exit_is_the_agents(&wrapped, alone.args(args));
    home.assert_nothing_left();
}

#[test]
#[cfg_attr(
    gemini_missing,
    ignore = "Gemini CLI 0.61.0 is not installed in target/test-deps: see .ci/run"
)]
fn login_with_google_stops_with_one_line_unless_allowed_unrouted() {
    let mock = MockUpstream::start();
    let mut home = sandbox(&mock.url());
    home.sandbox.env.remove("GEMINI_API_KEY");
    home.sandbox
        .env
        .insert("GOOGLE_GENAI_USE_GCA".into(), "true".into());
    let output = home
        .sandbox
        .run_headroom(&["wrap", "gemini", "--", "-p", "say hi"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--allow-unrouted"), "{stderr}");
    assert!(stderr.contains("GEMINI_API_KEY"), "{stderr}");
    assert!(mock.requests().is_empty());
    // Allowed: Gemini CLI runs as it would without headroom (here it
    // fails to sign in, offline), and no request reaches the proxy.
    let unrouted =
        home.sandbox
            .run_headroom(&["wrap", "gemini", "--allow-unrouted", "--", "--version"]);
    assert_eq!(unrouted.status.code(), Some(0), "{}", describe(&unrouted));
    assert!(
        String::from_utf8_lossy(&unrouted.stderr).contains("launching gemini unrouted"),
        "{}",
        describe(&unrouted)
    );
    home.assert_nothing_left();
}
