#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::usage::{Family, Usage};

const DAY_MS: i64 = 86_400_000;
/// A fixed "now" so the windows do not depend on the clock.
const NOW: i64 = 1_780_000_000_000;

fn row(time_ms: i64, model: Option<&str>, run: &str, input: Option<u64>, cost: Option<f64>) -> Row {
    Row {
        time_ms,
        agent: "opencode",
        run_id: run.into(),
        provider: Some("anthropic".into()),
        upstream_origin: "https://api.anthropic.com".into(),
        family: Some(Family::Anthropic),
        status: 200,
        duration_ms: 1200,
        usage: Usage {
            model: model.map(str::to_string),
            input_tokens: input,
            cache_read_tokens: input.map(|n| n / 2),
            cache_write_tokens: input.map(|_| 3),
            output_tokens: input.map(|_| 10),
            reasoning_tokens: None,
            complete: true,
        },
        cost_usd: cost,
        tool_tokens: None,
        saved_usd: None,
    }
}

fn write(path: &Path, rows: Vec<Row>) {
    let ledger = Ledger::open(path);
    for row in rows {
        ledger.record(row);
    }
    assert!(ledger.flush(Duration::from_secs(10)));
}

fn read(path: &Path, reading: Reading) -> Vec<Group> {
    let connection = open_for_reading(path).unwrap().unwrap();
    totals(&connection, &reading, NOW).unwrap()
}

fn since(raw: &str) -> Option<Since> {
    Some(Since::parse(raw).unwrap())
}

#[test]
fn since_accepts_spans_and_real_days_only() {
    assert_eq!(Since::parse("7d"), Ok(Since::HoursAgo(168)));
    assert_eq!(Since::parse("24h"), Ok(Since::HoursAgo(24)));
    assert_eq!(Since::parse("Today"), Ok(Since::Today));
    assert_eq!(
        Since::parse("2024-02-29"),
        Ok(Since::Date {
            year: 2024,
            month: 2,
            day: 29
        })
    );
    for bad in [
        "",
        "0d",
        "7w",
        "d",
        "-1d",
        "2025-02-29",
        "2025-13-01",
        "2025-6-1",
        "99999999999d",
        "+7d",
        "+24h",
        "2026-+1-01",
        "+202-01-01",
        "2026-01-+1",
        "٢٠٢٦-01-01",
        "9999-12-31",
    ] {
        assert!(Since::parse(bad).is_err(), "{bad} was accepted");
    }
}

#[test]
fn since_says_what_is_wrong_with_a_span_or_day() {
    let today = Some((2026, 5, 28));
    let error = |raw: &str| Since::parse_on(raw, today).unwrap_err();
    assert_eq!(
        error("+7d"),
        "'+7d' is not a span or a day (use e.g. 7d, 24h, today or 2025-06-01)"
    );
    assert_eq!(
        error("0d"),
        "'0d' is an empty span: a span must be at least 1"
    );
    assert_eq!(
        error("0h"),
        "'0h' is an empty span: a span must be at least 1"
    );
    assert_eq!(
        error("999999999d"),
        "'999999999d' is too large a span: at most 178956970d"
    );
    assert_eq!(
        error("99999999999h"),
        "'99999999999h' is too large a span: at most 4294967295h"
    );
    assert_eq!(
        error("2026-05-29"),
        "'2026-05-29' is in the future (today is 2026-05-28)"
    );
    assert_eq!(
        Since::parse_on("2026-05-28", today),
        Ok(Since::Date {
            year: 2026,
            month: 5,
            day: 28
        })
    );
    assert_eq!(
        Since::parse_on("178956970d", today),
        Ok(Since::HoursAgo(u32::MAX / 24 * 24))
    );
    assert_eq!(Since::parse_on("1h", today), Ok(Since::HoursAgo(1)));
}

#[test]
fn a_date_starts_at_local_midnight() {
    let connection = rusqlite::Connection::open_in_memory().unwrap();
    let start = since("2026-05-28")
        .unwrap()
        .start_ms(&connection, NOW)
        .unwrap();
    let utc_midnight = 1_779_926_400_000; // 2026-05-28T00:00:00Z
    assert!((start - utc_midnight).abs() <= 14 * 3_600_000, "{start}");
    let today = Since::Today.start_ms(&connection, NOW).unwrap();
    assert!(today <= NOW && NOW - today < DAY_MS + 3_600_000, "{today}");
}

#[test]
fn totals_group_sum_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/headroom/usage.db");
    write(
        &path,
        vec![
            row(NOW - 1000, Some("claude"), "a", Some(100), Some(0.5)),
            row(NOW - 2000, Some("claude"), "a", Some(300), Some(0.25)),
            row(NOW - 3000, Some("gpt"), "b", Some(40), None),
            Row {
                status: 500,
                ..row(NOW - 4000, None, "b", None, None)
            },
            // A cost without tokens is not kept: it could only be invented.
            row(NOW - 5000, None, "b", None, Some(3.0)),
            row(
                NOW - 40 * DAY_MS,
                Some("claude"),
                "old",
                Some(1_000),
                Some(9.0),
            ),
        ],
    );
    let by_model = read(
        &path,
        Reading {
            by: Some(GroupBy::Model),
            since: since("30d"),
            run: None,
        },
    );
    let claude = Group {
        key: Some("claude".into()),
        requests: 2,
        input_tokens: 400,
        cache_read_tokens: 200,
        cache_write_tokens: 6,
        output_tokens: 20,
        reasoning_tokens: 0,
        cost_usd: Some(0.75),
        unpriced_requests: 0,
        tool_tokens_before: 0,
        tool_tokens_after: 0,
        saved_usd: None,
    };
    assert_eq!(by_model[0], claude);
    assert_eq!(by_model[1].key.as_deref(), Some("gpt"));
    // Tokens but no price: no cost, counted as unpriced.
    assert_eq!(by_model[1].cost_usd, None);
    assert_eq!(by_model[1].unpriced_requests, 1);
    // No usage reported: a failed request cost nothing, a successful one
    // an unknown amount.
    assert_eq!(by_model[2].key, None);
    assert_eq!(
        (by_model[2].requests, by_model[2].unpriced_requests),
        (2, 1)
    );
    assert_eq!(by_model[2].cost_usd, None);
    assert_eq!(by_model.len(), 3);

    let all_of_run = read(
        &path,
        Reading {
            by: None,
            since: None,
            run: Some("old".into()),
        },
    );
    assert_eq!(all_of_run.len(), 1);
    assert_eq!(
        (all_of_run[0].requests, all_of_run[0].input_tokens),
        (1, 1_000)
    );

    let by_run = read(
        &path,
        Reading {
            by: Some(GroupBy::Run),
            since: since("60d"),
            run: None,
        },
    );
    let runs: Vec<_> = by_run.iter().map(|g| g.key.as_deref().unwrap()).collect();
    assert_eq!(runs, ["old", "b", "a"], "runs in the order they started");

    let mixed = read(
        &path,
        Reading {
            by: None,
            since: since("1d"),
            run: None,
        },
    );
    assert_eq!(mixed[0].cost_usd, Some(0.75));
    assert_eq!(mixed[0].unpriced_requests, 2);
}

#[test]
fn an_empty_window_has_no_groups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    write(
        &path,
        vec![row(NOW - 40 * DAY_MS, None, "a", Some(1), None)],
    );
    assert!(read(
        &path,
        Reading {
            by: None,
            since: since("7d"),
            run: None
        }
    )
    .is_empty());
    let nothing = dir.path().join("never-written.db");
    assert!(open_for_reading(&nothing).unwrap().is_none());
}

#[test]
fn two_writers_at_once_lose_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let rows = (0..3000).map(|i| row(NOW - i, None, &format!("w{w}"), Some(1), None));
                // Small flushes make the two interleave many transactions.
                let ledger = Ledger::open(&path);
                for (i, row) in rows.enumerate() {
                    ledger.record(row);
                    if i % 100 == 0 {
                        assert!(ledger.flush(Duration::from_secs(10)));
                    }
                }
                assert!(ledger.flush(Duration::from_secs(10)));
                assert_eq!(ledger.dropped(), 0);
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let total = read(
        &path,
        Reading {
            by: None,
            since: since("1d"),
            run: None,
        },
    );
    assert_eq!(total[0].requests, 6000);
}

/// Records far more rows than the queue holds and flushes: neither may
/// wait on a database that cannot be used.
fn assert_never_blocks(ledger: &Ledger) {
    let started = Instant::now();
    for i in 0..50_000 {
        ledger.record(row(NOW - i, None, "r", Some(1), None));
    }
    ledger.flush(Duration::from_secs(2));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_corrupt_file_costs_a_warning_not_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    std::fs::write(&path, vec![0x5a; 64 * 1024]).unwrap();
    assert_never_blocks(&Ledger::open(&path));
    assert!(open_for_reading(&path).is_err());
}

#[test]
fn an_unwritable_place_costs_a_warning_not_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    // Its directory would have to be a regular file: fails even as root.
    assert_never_blocks(&Ledger::open(&file.join("usage.db")));
}

#[test]
fn a_newer_schema_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert_never_blocks(&Ledger::open(&path));
    let error = open_for_reading(&path).unwrap_err().to_string();
    assert!(error.contains("newer"), "{error}");
}

#[test]
fn off_records_nothing_and_flushes_at_once() {
    let ledger = Ledger::off();
    ledger.record(row(NOW, None, "r", None, None));
    assert!(ledger.flush(Duration::ZERO));
}

#[test]
fn the_writer_prices_each_row_as_the_catalog_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let priced = "claude-sonnet-4-5";
    let rows = (0..3)
        .map(|i| row(NOW - i, Some(priced), "r", Some(1000 + i as u64), None))
        .chain([row(NOW, Some("no-such-model-anywhere"), "r", Some(5), None)])
        .collect();
    write(&path, rows);
    let by_model = read(
        &path,
        Reading {
            by: Some(GroupBy::Model),
            since: since("1d"),
            run: None,
        },
    );
    let expected: f64 = (0..3)
        .map(|i| {
            let usage = row(NOW, Some(priced), "r", Some(1000 + i), None).usage;
            crate::usage::prices::cost(priced, Some("anthropic"), &usage).unwrap()
        })
        .sum();
    let group = |model: &str| {
        by_model
            .iter()
            .find(|group| group.key.as_deref() == Some(model))
            .unwrap()
    };
    let cost = group(priced).cost_usd.unwrap();
    assert!((cost - expected).abs() < 1e-12, "{cost} != {expected}");
    assert_eq!(group("no-such-model-anywhere").cost_usd, None);
    assert_eq!(group("no-such-model-anywhere").unpriced_requests, 1);
}

#[test]
fn the_writer_prices_what_compression_saved_at_least() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    // claude-sonnet-4-5: input 3, cache_read 0.3, cache_write 3.75 per
    // million; these rows read 500,000 of their 1,000,000 prompt tokens
    // from the cache.
    let compressed = |may_rewrite_cache| {
        let mut row = row(NOW, Some("claude-sonnet-4-5"), "r", Some(1_000_000), None);
        row.tool_tokens = Some(ToolTokens {
            before: 3_000_000,
            after: 1_000_000,
            may_rewrite_cache,
        });
        row
    };
    write(&path, vec![compressed(false)]);
    let kept = read(&path, Reading::default());
    // Each of the 2,000,000 removed tokens as a cache read, the cheapest
    // prompt token the request paid for.
    let saved = kept[0].saved_usd.unwrap();
    assert!((saved - 0.6).abs() < 1e-9, "{saved}");

    let stubbed = compressed(true);
    let paid = 0.5 * 0.3 + 0.499_997 * 3.0 + 0.000_003 * 3.75;
    write(&path, vec![stubbed]);
    let both = read(&path, Reading::default());
    // The stubbed request's bound: its 3,000,000 tokens as cache reads,
    // less what its prompt cost.
    let expected = 0.6 + (3.0 * 0.3 - paid);
    let saved = both[0].saved_usd.unwrap();
    assert!((saved - expected).abs() < 1e-9, "{saved} != {expected}");
    assert_eq!(
        (both[0].tool_tokens_before, both[0].tool_tokens_after),
        (6_000_000, 2_000_000)
    );
}

#[test]
fn a_schema_1_ledger_gains_the_tool_token_columns_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    write(&path, vec![row(NOW, Some("old"), "r1", Some(10), None)]);
    make_schema(&path, 1);
    // Still readable as it is.
    assert_eq!(read(&path, Reading::default()).len(), 1);
    let mut compressed = row(NOW, Some("new"), "r2", Some(20), None);
    compressed.tool_tokens = Some(ToolTokens {
        before: 900,
        after: 300,
        may_rewrite_cache: false,
    });
    compressed.saved_usd = Some(0.25);
    write(&path, vec![compressed]);
    let connection = rusqlite::Connection::open(&path).unwrap();
    type Stored = (String, Option<u64>, Option<u64>, Option<f64>);
    let stored: Vec<Stored> = connection
        .prepare(
            "SELECT model, tool_tokens_before, tool_tokens_after, saved_usd \
             FROM requests ORDER BY id",
        )
        .unwrap()
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        stored,
        [
            ("old".into(), None, None, None),
            ("new".into(), Some(900), Some(300), Some(0.25))
        ]
    );
}

/// Turns the fresh ledger at `path` into one of an older `version`:
/// without the columns it lacked, with the covering indexes it had.
fn make_schema(path: &Path, version: i64) {
    let mut sql = String::from(
        "DROP INDEX requests_by_time; DROP INDEX requests_by_model;
         ALTER TABLE requests DROP COLUMN saved_usd;",
    );
    if version < 2 {
        sql.push_str(
            "ALTER TABLE requests DROP COLUMN tool_tokens_before;
             ALTER TABLE requests DROP COLUMN tool_tokens_after;",
        );
    }
    let status = if version == 3 { ", status" } else { "" };
    sql.push_str(&format!(
        "CREATE INDEX requests_by_time ON requests (time_ms, model, input_tokens,
             cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
             cost_usd{status});
         CREATE INDEX requests_by_model ON requests (model, time_ms, input_tokens,
             cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
             cost_usd{status});
         PRAGMA user_version = {version};"
    ));
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(&sql)
        .unwrap();
}

#[test]
fn a_schema_3_ledger_is_read_as_it_is_and_then_keeps_what_compression_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let compressed = |model| {
        let mut row = row(NOW, Some(model), "r", Some(10), Some(0.5));
        row.tool_tokens = Some(ToolTokens {
            before: 1_000,
            after: 400,
            may_rewrite_cache: false,
        });
        row.saved_usd = Some(0.125);
        row
    };
    write(&path, vec![compressed("m")]);
    make_schema(&path, 3);
    let unmigrated = read(&path, Reading::default());
    assert_eq!(
        (
            unmigrated[0].tool_tokens_before,
            unmigrated[0].tool_tokens_after,
            unmigrated[0].saved_usd
        ),
        (1_000, 400, None)
    );
    write(&path, vec![compressed("m")]);
    let migrated = read(&path, Reading::default());
    assert_eq!(migrated[0].requests, 2);
    assert_eq!(
        (
            migrated[0].tool_tokens_before,
            migrated[0].tool_tokens_after
        ),
        (2_000, 800)
    );
    assert_eq!(migrated[0].saved_usd, Some(0.125), "the old row has none");
    assert_totals_read_an_index_only(&path);
}

/// Every column of every row, in id order.
fn dump(connection: &rusqlite::Connection) -> Vec<Vec<rusqlite::types::Value>> {
    let mut statement = connection
        .prepare("SELECT * FROM requests ORDER BY id")
        .unwrap();
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            (0..columns)
                .map(|at| row.get::<_, rusqlite::types::Value>(at))
                .collect()
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_batch_lands_as_its_rows_one_by_one_would() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Row> = (0..37)
        .map(|i| {
            let mut row = row(
                NOW - i,
                (i % 3 != 0).then_some(["a", "b"][i as usize % 2]),
                &format!("run{}", i % 4),
                (i % 5 != 0).then_some(i as u64 * 7),
                (i % 2 == 0).then_some(i as f64 / 8.0),
            );
            row.provider = (i % 6 != 0).then(|| format!("p{i}"));
            row.family = (i % 7 != 0).then_some(Family::Gemini);
            row.status = 200 + i as u16;
            row.tool_tokens = (i % 3 == 1).then_some(crate::proxy::stages::ToolTokens {
                before: i as u64,
                after: 1,
                may_rewrite_cache: i % 2 == 0,
            });
            row
        })
        .collect();
    for count in [0, 1, 15, 16, 17, 33, 37] {
        let batched = dir.path().join(format!("batched{count}.db"));
        let single = dir.path().join(format!("single{count}.db"));
        let mut batched = store::open_for_writing(&batched).unwrap();
        let mut single = store::open_for_writing(&single).unwrap();
        store::insert(&mut batched, &rows[..count]).unwrap();
        for row in &rows[..count] {
            store::insert(&mut single, std::slice::from_ref(row)).unwrap();
        }
        let written = dump(&batched);
        assert_eq!(written.len(), count);
        assert_eq!(written, dump(&single), "{count} rows");
    }
}

/// The scheduling policy of each of this process's ledger writer threads,
/// from `/proc` (5 is SCHED_IDLE).
#[cfg(target_os = "linux")]
fn writer_policies() -> Vec<u32> {
    let mut policies = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let task = task.unwrap().path();
        let Ok(name) = std::fs::read_to_string(task.join("comm")) else {
            continue; // a thread that ended meanwhile
        };
        if name.trim() != "headroom-ledger" {
            continue;
        }
        let Ok(sched) = std::fs::read_to_string(task.join("sched")) else {
            continue;
        };
        let policy = sched
            .lines()
            .find_map(|line| line.strip_prefix("policy"))
            .and_then(|rest| rest.trim_start_matches([' ', ':']).trim().parse().ok());
        policies.push(policy.expect("a policy line in /proc/.../sched"));
    }
    policies
}

#[cfg(target_os = "linux")]
#[test]
fn the_writer_runs_only_when_the_proxy_leaves_the_core_idle() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("usage.db"));
    // The thread sets its policy first thing; a flush answered means it ran.
    assert!(ledger.flush(Duration::from_secs(5)));
    // Other tests' writers may be starting and not there yet: this one is.
    let policies = writer_policies();
    assert!(policies.contains(&5), "{policies:?}");
}

/// Rows a ledger at `path` holds.
fn count_rows(path: &Path) -> i64 {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .query_row("SELECT COUNT(*) FROM requests", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn a_ledger_that_cannot_be_opened_at_first_is_written_once_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    // A directory where the file should be: the open fails, even as root.
    std::fs::create_dir(&path).unwrap();
    let ledger = Ledger::open(&path);
    ledger.record(row(NOW, Some("lost"), "r", Some(1), None));
    assert!(ledger.flush(Duration::from_secs(10)));
    std::fs::remove_dir(&path).unwrap();
    std::thread::sleep(super::writer::RETRY_AFTER + Duration::from_millis(100));
    ledger.record(row(NOW, Some("kept"), "r", Some(1), None));
    assert!(ledger.flush(Duration::from_secs(10)));
    assert_eq!(count_rows(&path), 1);
}

#[test]
fn a_batch_that_cannot_be_written_loses_that_batch_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    write(&path, vec![row(NOW, Some("first"), "r", Some(1), None)]);
    // A real SQLite error that is not a lock, on one model's rows.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON requests WHEN NEW.model = 'refused' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .unwrap();
    let ledger = Ledger::open(&path);
    ledger.record(row(NOW, Some("refused"), "r", Some(1), None));
    assert!(ledger.flush(Duration::from_secs(10)));
    std::thread::sleep(super::writer::RETRY_AFTER + Duration::from_millis(100));
    ledger.record(row(NOW, Some("after"), "r", Some(1), None));
    assert!(ledger.flush(Duration::from_secs(10)));
    assert_eq!(count_rows(&path), 2);
}

/// How SQLite plans the totals of `reading` on the ledger at `path`.
fn plan(path: &Path, reading: &Reading) -> String {
    let connection = rusqlite::Connection::open(path).unwrap();
    let sql = format!(
        "EXPLAIN QUERY PLAN {}",
        super::query::totals_sql(reading, 4)
    );
    let mut statement = connection.prepare(&sql).unwrap();
    let zeros = vec![0; statement.parameter_count()];
    let details: Vec<String> = statement
        .query_map(rusqlite::params_from_iter(zeros), |row| row.get(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    details.join("; ")
}

/// The windowed totals read an index only, never the table: what keeps
/// a million rows under 200 ms.
fn assert_totals_read_an_index_only(path: &Path) {
    for by in [None, Some(GroupBy::Model), Some(GroupBy::Day)] {
        let reading = Reading {
            by,
            since: since("30d"),
            run: None,
        };
        let plan = plan(path, &reading);
        assert!(plan.contains("COVERING INDEX"), "{by:?}: {plan}");
    }
}

#[test]
fn totals_read_an_index_only_in_a_new_ledger_and_a_migrated_one() {
    for version in 1..=3 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        write(&path, vec![row(NOW, Some("m"), "r", Some(1), None)]);
        assert_totals_read_an_index_only(&path);
        make_schema(&path, version);
        // Readable before a writer migrates it, if from the table.
        assert_eq!(read(&path, Reading::default())[0].requests, 1);
        write(&path, vec![row(NOW, Some("m"), "r", Some(1), None)]);
        assert_totals_read_an_index_only(&path);
        assert_eq!(read(&path, Reading::default())[0].requests, 2);
    }
}

#[test]
fn absurd_counts_written_before_they_were_bounded_still_total() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    write(&path, vec![row(NOW, Some("m"), "r", Some(1), None)]);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "UPDATE requests SET input_tokens = {max}, output_tokens = {max};
             INSERT INTO requests SELECT NULL, time_ms, agent, run_id, provider,
                 upstream_origin, family, model, status, duration_ms, input_tokens,
                 cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
                 complete, cost_usd, tool_tokens_before, tool_tokens_after, saved_usd
                 FROM requests;",
            max = i64::MAX
        ))
        .unwrap();
    let total = read(&path, Reading::default());
    assert_eq!(total[0].requests, 2);
    assert_eq!(total[0].input_tokens, u64::MAX);
}
