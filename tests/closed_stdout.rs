//! Every subcommand that prints, its stdout a pipe whose reader has gone
//! (`| head -1`): it ends quietly, with no error and exit 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::BIN;
use headroom::ledger::{Ledger, Row};
use headroom::usage::Usage;

/// The write end of a pipe whose reader has already exited, so the first
/// write fails with EPIPE, without a race against a reader that is slow
/// to close.
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let write_end = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    Stdio::from(write_end)
}

fn headroom_into_closed_pipe(args: &[&str], home: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HEADROOM_OPENCODE_BIN", "/bin/true")
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(closed_pipe())
        .output()
        .unwrap()
}

fn seeded_ledger(path: &Path) {
    let ledger = Ledger::open(path);
    for model in ["a", "b", "c"] {
        ledger.record(Row {
            time_ms: 1_000,
            agent: "opencode",
            run_id: "run-1".into(),
            provider: Some("p".into()),
            upstream_origin: "https://upstream.example".into(),
            family: None,
            status: 200,
            duration_ms: 1,
            usage: Usage {
                model: Some(model.into()),
                input_tokens: Some(1),
                ..Usage::default()
            },
            cost_usd: None,
            tool_tokens: None,
            saved_usd: None,
        });
    }
    assert!(ledger.flush(Duration::from_secs(10)));
}

#[test]
fn a_closed_stdout_ends_every_printing_subcommand_quietly() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("usage.db");
    seeded_ledger(&db);
    let db = db.to_str().unwrap();
    let calls: [&[&str]; 7] = [
        &["usage", "--db", db, "--run", "run-1", "--by", "model"],
        &["usage", "--db", db, "--run", "run-1", "--json"],
        &["completions", "bash"],
        &["wrap"],
        &["wrap", "--json"],
        &["wrap", "opencode", "--dry-run"],
        &["wrap", "opencode", "--dry-run", "--json"],
    ];
    for args in calls {
        let output = headroom_into_closed_pipe(args, home.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}
