//! Compression under `headroom wrap opencode`, with the real opencode: the
//! mock makes opencode run a test suite with a long, repetitive output; the
//! next request reaches the mock with that output cut to its head, tail and
//! failures, the spill file it names holds the whole of it, and the
//! ledger what that saved.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::mock::MockUpstream;
use common::opencode::{self, Sandbox, SCHEMA};
use serde_json::{json, Value};

/// Prints 1,500 passing tests, one failure and an error line: long enough
/// to cut, short enough that opencode does not truncate it itself.
const TEST_SUITE: &str = "for i in $(seq 1 1500); do echo \"test tests::case_$i ... ok\"; done; \
echo 'test tests::status_code ... FAILED'; echo 'error: 1 test failed'";

/// Runs `headroom wrap opencode -- run PROMPT` in `sandbox`, with the mock
/// as an OpenAI-compatible provider; gives its stderr once it succeeded.
fn run_opencode(sandbox: &mut Sandbox, mock: &MockUpstream, prompt: &str) -> String {
    let binary = opencode::binary().display().to_string();
    sandbox.env.insert("HEADROOM_OPENCODE_BIN".into(), binary);
    sandbox.write_project_config(&json!({
        "$schema": SCHEMA,
        "provider": {
            "mockcompat": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Mock compatible",
                "options": { "baseURL": format!("{}/v1", mock.url()), "apiKey": "sk-compat-KEY" },
                "models": { "mock-model": { "name": "Mock model", "tool_call": true } },
            },
        },
    }));
    let model = "mockcompat/mock-model";
    let args = [
        "wrap", "opencode", "--", "run", "--title", "t", "--model", model, prompt,
    ];
    let output = sandbox.run_headroom(&args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "headroom failed: {stderr}");
    stderr
}

/// A price for the mock's model, in the user's price file: USD per
/// million tokens.
fn write_prices(sandbox: &Sandbox) {
    let dir = sandbox.root.path().join("home/.config/headroom");
    std::fs::create_dir_all(&dir).unwrap();
    let prices = json!({ "providers": { "mockcompat": { "mock-model": {
        "input": 2.0, "output": 8.0, "cache_read": 0.5,
    } } } });
    std::fs::write(dir.join("prices.json"), prices.to_string()).unwrap();
}

/// The ledger holds the tool outputs' tokens before and after, and what
/// the removed ones were worth at least: the mock's answers report a
/// cache read, so each is priced as one (0.5 per million).
fn assert_the_ledger_priced_what_compression_saved(sandbox: &Sandbox) {
    let output = sandbox.run_headroom(&["usage", "--json"]);
    assert!(output.status.success(), "{output:?}");
    let rows: Value = serde_json::from_slice(&output.stdout).unwrap();
    let total = &rows[0];
    let before = total["tool_tokens_before"].as_u64().unwrap();
    let after = total["tool_tokens_after"].as_u64().unwrap();
    assert!(before > after * 2, "{total}");
    let saved = total["saved_usd"].as_f64().unwrap();
    let expected = (before - after) as f64 * 0.5 / 1e6;
    assert!(
        (saved - expected).abs() < 2e-6,
        "{saved} != {expected}: {total}"
    );
}

#[test]
#[cfg_attr(
    opencode_missing,
    ignore = "opencode 1.18.33 is not installed in target/test-deps: see the README's test command"
)]
fn a_long_test_run_reaches_the_provider_cut_and_stays_whole_in_a_spill_file() {
    let mock = MockUpstream::start();
    mock.script_tool_call(
        "bash",
        &json!({ "command": TEST_SUITE, "description": "Run the tests" }).to_string(),
    );
    let mut sandbox = Sandbox::new();
    write_prices(&sandbox);
    let stderr = run_opencode(&mut sandbox, &mock, "run the tests");
    assert!(stderr.contains("headroom: compression saved"), "{stderr}");
    assert!(stderr.contains(", worth at least $"), "{stderr}");
    assert_the_ledger_priced_what_compression_saved(&sandbox);

    // The turn after the tool call carries its output, as headroom sent it.
    let turn = mock
        .requests()
        .into_iter()
        .filter(|request| request.target.ends_with("/chat/completions"))
        .find(|request| String::from_utf8_lossy(&request.body).contains("\"role\":\"tool\""))
        .unwrap_or_else(|| {
            panic!("no turn with the tool output reached the mock; stderr: {stderr}")
        });
    assert_eq!(turn.body.len(), turn.body_len);
    let body: Value = serde_json::from_slice(&turn.body).unwrap();
    let sent = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|message| message["role"] == "tool")
        .and_then(|message| message["content"].as_str())
        .unwrap();
    assert!(
        sent.len() < 8_000,
        "the output reached the mock uncut: {} bytes",
        sent.len()
    );
    assert!(
        sent.contains("test tests::status_code ... FAILED"),
        "{sent}"
    );
    assert!(sent.contains("error: 1 test failed"), "{sent}");
    assert!(sent.contains("test tests::case_1 ... ok"), "{sent}");

    // The spill file the cut names, under the sandbox's state dir, holds
    // every line opencode got from the shell.
    let spill_dir = sandbox.root.path().join("home/.local/state/headroom/spill");
    let named = sent
        .split("full output in ")
        .nth(1)
        .and_then(|rest| rest.split([';', ']']).next())
        .unwrap_or_else(|| panic!("the cut names no spill file: {sent}"));
    assert!(named.starts_with(spill_dir.to_str().unwrap()), "{named}");
    let whole = std::fs::read_to_string(named).unwrap();
    for line in [
        "test tests::case_1 ... ok",
        "test tests::case_777 ... ok",
        "test tests::case_1500 ... ok",
        "error: 1 test failed",
    ] {
        assert!(whole.contains(line), "the spill file lacks {line:?}");
    }
    assert!(whole.lines().count() >= 1502);
}

#[test]
#[cfg_attr(
    opencode_missing,
    ignore = "opencode 1.18.33 is not installed in target/test-deps: see the README's test command"
)]
fn opencode_reads_a_spill_file_without_asking() {
    let mock = MockUpstream::start();
    let mut sandbox = Sandbox::new();
    let spill_dir = sandbox.root.path().join("home/.local/state/headroom/spill");
    std::fs::create_dir_all(&spill_dir).unwrap();
    let spilled = spill_dir.join("0123456789abcdef0123456789abcdef.txt");
    std::fs::write(&spilled, "the whole output: MARKER-4471\n").unwrap();
    mock.script_tool_call(
        "read",
        &json!({ "filePath": spilled.display().to_string() }).to_string(),
    );
    let stderr = run_opencode(&mut sandbox, &mock, "read the spilled output");
    let tool_output = mock
        .requests()
        .into_iter()
        .filter(|request| request.target.ends_with("/chat/completions"))
        .find_map(|request| {
            let body: Value = serde_json::from_slice(&request.body).ok()?;
            body["messages"]
                .as_array()?
                .iter()
                .find(|message| message["role"] == "tool")
                .map(|message| message["content"].to_string())
        })
        .unwrap_or_else(|| {
            panic!("no turn with the read's output reached the mock; stderr: {stderr}")
        });
    assert!(
        tool_output.contains("MARKER-4471"),
        "the read was not answered with the file: {tool_output}"
    );
}
