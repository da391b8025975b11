//! `headroom usage`'s one query: totals per group over a window.

use rusqlite::Connection;

use super::Since;

/// What rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    // The local calendar day.
    Day,
    Model,
    Provider,
    Agent,
    Run,
}

impl GroupBy {
    /// The key's name in JSON and the table's heading.
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
            GroupBy::Agent => "agent",
            GroupBy::Run => "run",
        }
    }

    fn column(self) -> &'static str {
        match self {
            GroupBy::Day => "date(time_ms / 1000, 'unixepoch', 'localtime')",
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
            GroupBy::Agent => "agent",
            GroupBy::Run => "run_id",
        }
    }

    fn order(self) -> &'static str {
        match self {
            GroupBy::Day => "key",
            GroupBy::Run => "MIN(time_ms)",
            _ => "input + output DESC, key",
        }
    }
}

/// Which rows to total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    pub by: Option<GroupBy>,
    /// The window's start; without it (and without `run`), today.
    pub since: Option<Since>,
    pub run: Option<String>,
}

/// The totals of one group. Token sums count what responses reported; a
/// response that reported nothing adds nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The group's key; `None` for the overall total, or for rows that have
    /// no value for it (a model no response named).
    pub key: Option<String>,
    pub requests: u64,
    pub input_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    /// The sum of the priced requests' costs; `None` when none was priced.
    pub cost_usd: Option<f64>,
    /// Requests `cost_usd` leaves out that may have cost something (see
    /// [`Row::cost_unknown`](super::Row::cost_unknown)).
    pub unpriced_requests: u64,
}

/// The totals `reading` asks for, `now_ms` being now; empty when no
/// request falls in the window.
pub fn totals(
    connection: &Connection,
    reading: &Reading,
    now_ms: i64,
) -> rusqlite::Result<Vec<Group>> {
    let since = reading
        .since
        .or(reading.run.is_none().then_some(Since::Today));
    let start_ms = match since {
        Some(since) => since.start_ms(connection, now_ms)?,
        None => i64::MIN,
    };
    let mut statement = connection.prepare(&totals_sql(reading))?;
    let bind = |row: &rusqlite::Row<'_>| {
        Ok(Group {
            key: row.get(0)?,
            requests: row.get(1)?,
            input_tokens: tokens(row.get(2)?),
            cache_read_tokens: tokens(row.get(3)?),
            cache_write_tokens: tokens(row.get(4)?),
            output_tokens: tokens(row.get(5)?),
            reasoning_tokens: tokens(row.get(6)?),
            cost_usd: row.get(7)?,
            unpriced_requests: row.get(8)?,
        })
    };
    let groups: Vec<Group> = match &reading.run {
        Some(run) => statement.query_map(rusqlite::params![start_ms, run], bind)?,
        None => statement.query_map([start_ms], bind)?,
    }
    .collect::<rusqlite::Result<_>>()?;
    // An aggregate without GROUP BY answers one row even over no rows.
    Ok(groups.into_iter().filter(|g| g.requests > 0).collect())
}

/// The query for `reading`: `?1` is the window's start, `?2` the run.
pub(super) fn totals_sql(reading: &Reading) -> String {
    let (key, group) = match reading.by {
        Some(by) => (
            by.column(),
            format!(" GROUP BY key ORDER BY {}", by.order()),
        ),
        None => ("NULL", String::new()),
    };
    // Only what the indexes hold, so that no table row is read; the run
    // filter is added only when asked for, since run_id is in neither.
    let run = if reading.run.is_some() {
        " AND run_id = ?2"
    } else {
        ""
    };
    // TOTAL, a float, never fails on an overflow as SUM does: a ledger
    // written before counts were bounded may hold absurd ones. The last
    // column counts Row::cost_unknown: of the requests without a cost,
    // those that are not failures that reported nothing (a cost is stored
    // only with tokens). A CASE that a status below 400 settles at once is
    // the cheapest form of it.
    format!(
        "SELECT {key} AS key, COUNT(*), \
         TOTAL(input_tokens) AS input, TOTAL(cache_read_tokens), \
         TOTAL(cache_write_tokens), TOTAL(output_tokens) AS output, \
         TOTAL(reasoning_tokens), SUM(cost_usd), \
         COUNT(*) - COUNT(cost_usd) - COUNT(CASE WHEN status >= 400 \
             AND input_tokens IS NULL AND cache_read_tokens IS NULL \
             AND cache_write_tokens IS NULL AND output_tokens IS NULL \
             AND reasoning_tokens IS NULL THEN 1 END) \
         FROM requests WHERE time_ms >= ?1{run}{group}"
    )
}

/// A token sum as TOTAL gives it: exact below 2^53, which no real ledger
/// reaches; past `u64` it saturates.
fn tokens(total: f64) -> u64 {
    total as u64
}
