//! `headroom usage`: the ledger's totals as an 80-column table or JSON.

use std::io::{IsTerminal as _, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use serde_json::{json, Map, Value};

use crate::cli::UsageArgs;
use crate::figures;
use crate::ledger::{self, Group, GroupBy, Reading};

pub fn run(args: UsageArgs) -> anyhow::Result<()> {
    let path = match args.db {
        Some(path) => path,
        None => ledger::default_path()
            .context("no place for the usage ledger: neither XDG_STATE_HOME (an absolute path) nor HOME is set")?,
    };
    let reading = Reading {
        by: args.by,
        since: args.since,
        run: args.run,
    };
    let mut out = std::io::stdout().lock();
    let Some(connection) = ledger::open_for_reading(&path)? else {
        if args.json {
            writeln!(out, "[]")?;
        } else {
            let what = if path.exists() {
                "an empty ledger"
            } else {
                "no ledger"
            };
            writeln!(out, "No usage recorded yet ({what} at {}).", path.display())?;
        }
        return Ok(());
    };
    let groups = ledger::totals(&connection, &reading, now_ms())
        .with_context(|| format!("could not read the usage ledger {}", path.display()))?;
    if args.json {
        writeln!(out, "{}", json_rows(reading.by, &groups))?;
    } else if groups.is_empty() {
        writeln!(out, "No requests recorded {}.", window(&reading))?;
        if reading.run.is_some() {
            // A mistyped id reads the same as a run without requests.
            writeln!(
                out,
                "`headroom usage --by run --since 30d` lists the runs of the last 30 days."
            )?;
        }
    } else {
        let total = window(&reading);
        out.write_all(table(reading.by, &groups, &total, stdout_wants_colour()).as_bytes())?;
    }
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn stdout_wants_colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// How the empty answer names the window it looked at.
fn window(reading: &Reading) -> String {
    let since = match reading.since {
        None if reading.run.is_some() => String::new(),
        None | Some(ledger::Since::Today) => "today".to_string(),
        Some(ledger::Since::HoursAgo(hours)) if hours % 24 == 0 => last(hours / 24, "day"),
        Some(ledger::Since::HoursAgo(hours)) => last(hours, "hour"),
        Some(ledger::Since::Date { year, month, day }) => {
            format!("since {year:04}-{month:02}-{day:02}")
        }
    };
    match &reading.run {
        Some(run) if since.is_empty() => format!("for run {run}"),
        Some(run) => format!("for run {run} {since}"),
        None => since,
    }
}

/// `in the last 7 days`, or `in the last day` for one.
fn last(count: u32, unit: &str) -> String {
    match count {
        1 => format!("in the last {unit}"),
        _ => format!("in the last {count} {unit}s"),
    }
}

/// One object per group: its key (named for `--by`), then the figures.
pub fn json_rows(by: Option<GroupBy>, groups: &[Group]) -> Value {
    let rows = groups.iter().map(|group| {
        let mut row = Map::new();
        if let Some(by) = by {
            row.insert(by.name().into(), json!(group.key));
        }
        row.insert("requests".into(), json!(group.requests));
        row.insert("input_tokens".into(), json!(group.input_tokens));
        row.insert("cache_read_tokens".into(), json!(group.cache_read_tokens));
        row.insert("cache_write_tokens".into(), json!(group.cache_write_tokens));
        row.insert("output_tokens".into(), json!(group.output_tokens));
        row.insert("reasoning_tokens".into(), json!(group.reasoning_tokens));
        // To the micro-dollar: a sum of prices carries float noise below it.
        let cost = group.cost_usd.map(|c| (c * 1e6).round() / 1e6);
        row.insert("cost_usd".into(), json!(cost));
        row.insert("unpriced_requests".into(), json!(group.unpriced_requests));
        row.insert("tool_tokens_before".into(), json!(group.tool_tokens_before));
        row.insert("tool_tokens_after".into(), json!(group.tool_tokens_after));
        let saved = group.saved_usd.map(|s| (s * 1e6).round() / 1e6);
        row.insert("saved_usd".into(), json!(saved));
        Value::Object(row)
    });
    Value::Array(rows.collect())
}

const KEY_WIDTH: usize = 22;

/// The groups, a total line when there are several, a note when some
/// cost leaves requests out, and what compression saved when it read any
/// tool output; 78 columns wide. Without `by`, the one line is named
/// `total`: the window it covers.
pub fn table(by: Option<GroupBy>, groups: &[Group], total: &str, colour: bool) -> String {
    let heading = by.map_or("TOTAL".to_string(), |by| by.name().to_uppercase());
    let header = format!(
        "{heading:<KEY_WIDTH$}{:>6}{:>8}{:>8}{:>8}{:>8}{:>8}{:>10}",
        "REQS", "INPUT", "CACHE-R", "CACHE-W", "OUTPUT", "REASON", "COST"
    );
    let mut text = if colour {
        format!("\x1b[1m{header}\x1b[0m\n")
    } else {
        format!("{header}\n")
    };
    let unknown = if by == Some(GroupBy::Day) {
        "-"
    } else {
        "(unknown)"
    };
    for group in groups {
        let key = match by {
            None => total,
            Some(_) => group.key.as_deref().unwrap_or(unknown),
        };
        text.push_str(&line(key, group));
    }
    let sums = sum(groups);
    if groups.len() > 1 {
        text.push_str(&line("total", &sums));
    }
    if sums.unpriced_requests > 0 {
        text.push_str(&format!(
            "+ the cost leaves out {} without a price or reported usage\n",
            figures::count(sums.unpriced_requests, "request")
        ));
    }
    let saved = figures::compression_saved(
        sums.tool_tokens_before,
        sums.tool_tokens_after,
        sums.saved_usd,
    );
    if let Some(saved) = saved {
        text.push_str(&format!("{saved}\n"));
    }
    text
}

fn line(key: &str, group: &Group) -> String {
    format!(
        "{}{:>6}{:>8}{:>8}{:>8}{:>8}{:>8}{:>10}\n",
        figures::cell(key, KEY_WIDTH),
        group.requests,
        count(group.input_tokens),
        count(group.cache_read_tokens),
        count(group.cache_write_tokens),
        count(group.output_tokens),
        count(group.reasoning_tokens),
        cost(group),
    )
}

fn count(n: u64) -> String {
    figures::tokens(n)
}

fn cost(group: &Group) -> String {
    figures::dollars(group.cost_usd, group.unpriced_requests)
}

fn sum(groups: &[Group]) -> Group {
    // Saturating: a ledger written before counts were bounded may hold
    // sums near u64's top.
    let total = |f: fn(&Group) -> u64| groups.iter().map(f).fold(0, u64::saturating_add);
    // Known once one group's is.
    let dollars = |f: fn(&Group) -> Option<f64>| {
        let known = groups.iter().filter_map(f);
        known.fold(None, |sum: Option<f64>, usd| Some(sum.unwrap_or(0.0) + usd))
    };
    Group {
        key: None,
        requests: total(|g| g.requests),
        input_tokens: total(|g| g.input_tokens),
        cache_read_tokens: total(|g| g.cache_read_tokens),
        cache_write_tokens: total(|g| g.cache_write_tokens),
        output_tokens: total(|g| g.output_tokens),
        reasoning_tokens: total(|g| g.reasoning_tokens),
        cost_usd: dollars(|g| g.cost_usd),
        unpriced_requests: total(|g| g.unpriced_requests),
        tool_tokens_before: total(|g| g.tool_tokens_before),
        tool_tokens_after: total(|g| g.tool_tokens_after),
        saved_usd: dollars(|g| g.saved_usd),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use unicode_width::UnicodeWidthStr as _;

    use super::*;

    fn group(key: &str, tokens: u64, cost: f64) -> Group {
        Group {
            key: Some(key.to_string()),
            requests: 3,
            input_tokens: tokens,
            cache_read_tokens: tokens,
            cache_write_tokens: tokens,
            output_tokens: tokens,
            reasoning_tokens: tokens,
            cost_usd: Some(cost),
            unpriced_requests: 0,
            tool_tokens_before: 0,
            tool_tokens_after: 0,
            saved_usd: None,
        }
    }

    #[test]
    fn wide_names_keep_the_columns_in_line() {
        let groups = [
            group("通义千问-qwen3-coder-plus-max", 1_250_000, 1.5),
            group("通义千问", 42, 0.25),
            group("claude-sonnet-4-5", 7, 0.0),
        ];
        let text = table(Some(GroupBy::Model), &groups, "", false);
        let widths: Vec<usize> = text.lines().map(|line| line.width()).collect();
        assert_eq!(widths, [78; 5], "{text}");
        assert!(text.contains("\n通义千问-qwen3-coder…      3"), "{text}");
        assert!(text.contains("\n通义千问                   3"), "{text}");
    }

    #[test]
    fn what_compression_saved_ends_the_table_and_fills_the_json() {
        let mut read = group("claude-sonnet-4-5", 1_000, 0.5);
        (read.tool_tokens_before, read.tool_tokens_after) = (30_000, 10_000);
        read.saved_usd = Some(0.0042);
        let mut other = group("gpt-5", 2_000, 0.25);
        (other.tool_tokens_before, other.tool_tokens_after) = (10_000, 10_000);
        let groups = [read, other];
        let text = table(Some(GroupBy::Model), &groups, "", false);
        let last = text.lines().last().unwrap_or_default();
        assert_eq!(
            last,
            "compression saved 20000 tokens of tool output, 50%, worth at least $0.0042"
        );
        let json = json_rows(Some(GroupBy::Model), &groups);
        assert_eq!(json[0]["tool_tokens_before"], 30_000);
        assert_eq!(json[0]["tool_tokens_after"], 10_000);
        assert_eq!(json[0]["saved_usd"], 0.0042);
        assert_eq!(json[1]["saved_usd"], Value::Null);
        let untouched = table(None, &[group("m", 1, 0.1)], "today", false);
        assert!(!untouched.contains("compression"), "{untouched}");
    }

    #[test]
    fn a_window_of_one_is_singular() {
        let label = |since: &str| {
            window(&Reading {
                by: None,
                since: Some(ledger::Since::parse(since).unwrap()),
                run: None,
            })
        };
        assert_eq!(label("1d"), "in the last day");
        assert_eq!(label("24h"), "in the last day");
        assert_eq!(label("1h"), "in the last hour");
        assert_eq!(label("7d"), "in the last 7 days");
        assert_eq!(label("36h"), "in the last 36 hours");
    }

    #[test]
    fn extreme_figures_keep_a_space_between_columns() {
        let groups = [
            group("a", u64::MAX, 1e20),
            group("b", 999_999_999, 123_456.0),
        ];
        let text = table(Some(GroupBy::Model), &groups, "", false);
        for line in text.lines() {
            assert_eq!(line.split_whitespace().count(), 8, "{text}");
            assert_eq!(line.width(), 78, "{text}");
        }
    }
}
