//! How long `headroom usage --by model --since 30d` takes on a ledger of a
//! million rows spread over 60 days (half of them in the window), 20
//! models. Prints the fill rate and the query's best and median time over
//! a few runs; the target is under 200 ms. Nothing here fails a run.
//!
//! Run with `cargo bench --bench ledger` (the fill takes a few seconds).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use headroom::ledger::{open_for_reading, totals, GroupBy, Ledger, Reading, Row, Since};
use headroom::proxy::stages::ToolTokens;
use headroom::usage::{Family, Usage};

const ROWS: i64 = 1_000_000;
const SPAN_MS: i64 = 60 * 86_400_000;
const RUNS: usize = 7;

fn row(i: i64, now_ms: i64) -> Row {
    let n = i as u64;
    Row {
        time_ms: now_ms - SPAN_MS + i * (SPAN_MS / ROWS),
        agent: "opencode",
        run_id: format!("run-{}", i / 500).into(),
        provider: Some(["anthropic", "openai", "deepseek"][(i % 3) as usize].into()),
        upstream_origin: "https://api.example.com".into(),
        family: Some(Family::Anthropic),
        status: 200,
        duration_ms: 1000 + n % 5000,
        usage: Usage {
            model: Some(format!("model-{}", i % 20)),
            input_tokens: Some(20_000 + n % 9000),
            cache_read_tokens: Some(15_000),
            cache_write_tokens: Some(n % 2000),
            output_tokens: Some(300 + n % 700),
            reasoning_tokens: Some(n % 100),
            complete: true,
        },
        cost_usd: (i % 20 != 7).then_some(0.0123),
        // Most of an agent's requests carry tool outputs.
        tool_tokens: (i % 4 != 0).then_some(ToolTokens {
            before: 8_000 + n % 4000,
            after: 6_000,
            may_rewrite_cache: false,
        }),
        saved_usd: (i % 4 != 0 && i % 20 != 7).then_some(0.0007),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("usage.db");
    let now_ms = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;

    let started = Instant::now();
    let ledger = Ledger::open(&path);
    for i in 0..ROWS {
        ledger.record(row(i, now_ms));
        // Keep the queue short of full: a bench row must never be dropped.
        if i % 4096 == 0 && !ledger.flush(Duration::from_secs(60)) {
            return Err("the ledger did not keep up".into());
        }
    }
    if !ledger.flush(Duration::from_secs(60)) || ledger.dropped() > 0 {
        return Err("rows were lost while filling".into());
    }
    let fill = started.elapsed();
    println!(
        "fill: {ROWS} rows in {:.1} s ({:.0} rows/s), {} MB",
        fill.as_secs_f64(),
        ROWS as f64 / fill.as_secs_f64(),
        std::fs::metadata(&path)?.len() / 1_000_000
    );

    let reading = Reading {
        by: Some(GroupBy::Model),
        since: Some(Since::parse("30d")?),
        run: None,
    };
    let mut times = Vec::new();
    for _ in 0..RUNS {
        // A fresh connection each time, as each `headroom usage` has.
        let started = Instant::now();
        let connection = open_for_reading(&path)?.ok_or("no ledger")?;
        let groups = totals(&connection, &reading, now_ms)?;
        times.push(started.elapsed());
        let requests: u64 = groups.iter().map(|g| g.requests).sum();
        assert_eq!(groups.len(), 20);
        assert!((ROWS as u64 / 2 - 10..=ROWS as u64 / 2 + 10).contains(&requests));
    }
    times.sort();
    println!(
        "--by model --since 30d over {ROWS} rows: best {:.1} ms, median {:.1} ms (target < 200 ms)",
        times[0].as_secs_f64() * 1e3,
        times[RUNS / 2].as_secs_f64() * 1e3
    );
    Ok(())
}
