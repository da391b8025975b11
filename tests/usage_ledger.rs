//! `headroom usage` on a seeded ledger, and the ledger under several
//! writing processes and a damaged file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::BIN;
use headroom::ledger::{Ledger, Row};
use headroom::usage::{Family, Usage};
use serde_json::{json, Value};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn row(time_ms: i64, provider: &str, model: &str, tokens: [u64; 5], cost: Option<f64>) -> Row {
    let [input, cache_read, cache_write, output, reasoning] = tokens;
    Row {
        time_ms,
        agent: "opencode",
        run_id: "run-1".into(),
        provider: Some(provider.into()),
        upstream_origin: "https://upstream.example".into(),
        family: Some(Family::OpenAiChat),
        status: 200,
        duration_ms: 800,
        usage: Usage {
            model: Some(model.into()),
            input_tokens: Some(input),
            cache_read_tokens: Some(cache_read),
            cache_write_tokens: Some(cache_write),
            output_tokens: Some(output),
            reasoning_tokens: Some(reasoning),
            complete: true,
        },
        cost_usd: cost,
        tool_tokens: None,
        saved_usd: None,
    }
}

fn seed(path: &Path, rows: Vec<Row>) {
    let ledger = Ledger::open(path);
    for row in rows {
        ledger.record(row);
    }
    assert!(ledger.flush(Duration::from_secs(10)));
}

fn usage(db: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("usage")
        .arg("--db")
        .arg(db)
        .args(args)
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn seeded() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("usage.db");
    let now = now_ms();
    seed(
        &db,
        vec![
            row(
                now,
                "anthropic",
                "claude-sonnet-4-5",
                [1200, 1000, 150, 300, 0],
                Some(0.0123),
            ),
            row(
                now - 5,
                "anthropic",
                "claude-sonnet-4-5",
                [800, 600, 0, 200, 0],
                Some(0.0077),
            ),
            row(
                now - 10,
                "deepseek",
                // Not in the catalog: the writer prices a row recorded
                // without a cost when it can.
                "deepseek-unlisted",
                [2_500_000, 0, 0, 40, 12],
                None,
            ),
            row(
                now - 3 * 86_400_000,
                "openai",
                "gpt-5",
                [10, 0, 0, 5, 5],
                Some(1.0),
            ),
        ],
    );
    (dir, db)
}

#[test]
fn json_sums_per_model() {
    let (_dir, db) = seeded();
    let rows: Value = serde_json::from_str(&stdout(&usage(
        &db,
        &["--by", "model", "--since", "2d", "--json"],
    )))
    .unwrap();
    assert_eq!(
        rows,
        json!([
            {"model": "deepseek-unlisted", "requests": 1, "input_tokens": 2_500_000,
             "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 40,
             "reasoning_tokens": 12, "cost_usd": null, "unpriced_requests": 1,
             "tool_tokens_before": 0, "tool_tokens_after": 0, "saved_usd": null},
            {"model": "claude-sonnet-4-5", "requests": 2, "input_tokens": 2000,
             "cache_read_tokens": 1600, "cache_write_tokens": 150, "output_tokens": 500,
             "reasoning_tokens": 0, "cost_usd": 0.02, "unpriced_requests": 0,
             "tool_tokens_before": 0, "tool_tokens_after": 0, "saved_usd": null},
        ])
    );
}

#[test]
fn days_and_dates_are_local() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("usage.db");
    // 2025-06-01T23:30Z and 2025-06-02T00:30Z.
    let late = 1_748_820_600_000;
    let early = late + 3_600_000;
    seed(
        &db,
        vec![
            row(late, "p", "m", [1, 0, 0, 0, 0], None),
            row(early, "p", "m", [2, 0, 0, 0, 0], None),
        ],
    );
    let days = |tz: &str, since: &str| {
        let output = Command::new(BIN)
            .args(["usage", "--by", "day", "--json", "--since", since, "--db"])
            .arg(&db)
            .env("TZ", tz)
            .output()
            .unwrap();
        let rows: Value = serde_json::from_str(&stdout(&output)).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row["day"].as_str().unwrap().to_string(),
                    row["input_tokens"].as_u64().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let day = |d: &str, n| (d.to_string(), n);
    assert_eq!(
        days("UTC", "2025-06-01"),
        [day("2025-06-01", 1), day("2025-06-02", 2)]
    );
    assert_eq!(days("UTC", "2025-06-02"), [day("2025-06-02", 2)]);
    // Four hours behind UTC (POSIX TZ, no time zone database needed): both
    // fall on the evening of the 1st, and the 2nd starts after them.
    assert_eq!(days("XYZ4", "2025-06-01"), [day("2025-06-01", 3)]);
    assert_eq!(days("XYZ4", "2025-06-02"), []);
}

#[test]
fn today_is_the_default_window() {
    let (_dir, db) = seeded();
    let rows: Value = serde_json::from_str(&stdout(&usage(&db, &["--json"]))).unwrap();
    assert_eq!(rows[0]["requests"], 3, "{rows}");
    assert_eq!(rows[0]["cost_usd"], 0.02);
    assert_eq!(rows[0]["unpriced_requests"], 1);
    let all: Value =
        serde_json::from_str(&stdout(&usage(&db, &["--run", "run-1", "--json"]))).unwrap();
    assert_eq!(all[0]["requests"], 4, "a run is read whole: {all}");
}

#[test]
fn the_table_fits_80_columns() {
    let (_dir, db) = seeded();
    let table = stdout(&usage(&db, &["--by", "provider", "--since", "7d"]));
    let expected = "\
PROVIDER                REQS   INPUT CACHE-R CACHE-W  OUTPUT  REASON      COST
deepseek                   1    2.5M       0       0      40      12        -+
anthropic                  2    2000    1600     150     500       0     $0.02
openai                     1      10       0       0       5       5     $1.00
total                      4    2.5M    1600     150     545      17    $1.02+
+ the cost leaves out 1 request without a price or reported usage
";
    assert_eq!(table, expected);
    assert!(table.lines().all(|line| line.chars().count() <= 80));
    assert!(!table.contains('\x1b'), "colour outside a terminal");

    let total = stdout(&usage(&db, &["--since", "2d"]));
    let expected = "\
TOTAL                   REQS   INPUT CACHE-R CACHE-W  OUTPUT  REASON      COST
in the last 2 days         3    2.5M    1600     150     540      12    $0.02+
+ the cost leaves out 1 request without a price or reported usage
";
    assert_eq!(total, expected);
}

#[test]
fn an_empty_ledger_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("usage.db");
    let text = stdout(&usage(&missing, &[]));
    assert_eq!(
        text,
        format!(
            "No usage recorded yet (no ledger at {}).\n",
            missing.display()
        )
    );
    assert_eq!(stdout(&usage(&missing, &["--json"])), "[]\n");
    std::fs::write(&missing, b"").unwrap();
    assert_eq!(
        stdout(&usage(&missing, &[])),
        format!(
            "No usage recorded yet (an empty ledger at {}).\n",
            missing.display()
        )
    );
    std::fs::remove_file(&missing).unwrap();
    seed(&missing, vec![row(1_000, "p", "m", [1, 0, 0, 1, 0], None)]);
    assert_eq!(
        stdout(&usage(&missing, &["--since", "7d"])),
        "No requests recorded in the last 7 days.\n"
    );
    assert_eq!(
        stdout(&usage(&missing, &["--run", "no-such-run"])),
        "No requests recorded for run no-such-run.\n\
         `headroom usage --by run --since 30d` lists the runs of the last 30 days.\n"
    );
}

#[test]
fn the_default_ledger_is_in_the_state_directory() {
    let dir = tempfile::tempdir().unwrap();
    seed(
        &dir.path().join("headroom/usage.db"),
        vec![row(now_ms(), "p", "m", [7, 0, 0, 1, 0], None)],
    );
    let output = Command::new(BIN)
        .args(["usage", "--json"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    let rows: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(rows[0]["input_tokens"], 7);
}

#[test]
fn a_relative_state_directory_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let cwd = dir.path().join("cwd");
    let at = |path: &Path, input| {
        seed(
            &path.join("headroom/usage.db"),
            vec![row(now_ms(), "p", "m", [input, 0, 0, 1, 0], None)],
        );
    };
    at(&home.join(".local/state"), 7);
    at(&cwd.join("state"), 99);
    let output = Command::new(BIN)
        .args(["usage", "--json"])
        .env("HOME", &home)
        .env("XDG_STATE_HOME", "state")
        .current_dir(&cwd)
        .output()
        .unwrap();
    let rows: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(rows[0]["input_tokens"], 7, "read a relative XDG_STATE_HOME");
}

#[test]
fn a_bad_since_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    for (since, why) in [
        ("last week", "is not a span or a day"),
        ("0d", "a span must be at least 1"),
        ("999999999d", "is too large a span"),
        ("9999-12-31", "is in the future"),
    ] {
        let output = usage(&dir.path().join("usage.db"), &["--since", since]);
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.contains("--since"), "{stderr}");
        assert!(first.contains(why), "{stderr}");
    }
}

#[test]
fn a_corrupt_ledger_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("usage.db");
    std::fs::write(&db, vec![0x42; 8192]).unwrap();
    let output = usage(&db, &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("headroom: error: "), "{stderr}");
    assert!(stderr.contains(&db.display().to_string()), "{stderr}");
}

const CHILD_DB: &str = "HEADROOM_TEST_LEDGER_CHILD_DB";
const CHILD_ROWS: i64 = 2000;

/// Runs only as a child of `two_processes_writing_at_once_lose_no_rows`.
#[test]
fn child_writes_rows() {
    let Some(db) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let ledger = Ledger::open(Path::new(&db));
    let now = now_ms();
    for i in 0..CHILD_ROWS {
        ledger.record(row(now - i, "p", "m", [1, 0, 0, 1, 0], None));
        if i % 50 == 0 {
            assert!(ledger.flush(Duration::from_secs(20)));
        }
    }
    assert!(ledger.flush(Duration::from_secs(20)));
    assert_eq!(ledger.dropped(), 0);
}

#[test]
fn two_processes_writing_at_once_lose_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("usage.db");
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_writes_rows", "--nocapture"])
                .env(CHILD_DB, &db)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let rows: Value =
        serde_json::from_str(&stdout(&usage(&db, &["--since", "1d", "--json"]))).unwrap();
    assert_eq!(rows[0]["requests"], 2 * CHILD_ROWS);
}
