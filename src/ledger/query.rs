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
            _ => "SUM(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)) DESC, key",
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
    /// Requests that reported tokens but have no cost (a model without a
    /// price): `cost_usd` leaves them out.
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
    let (key, group, order) = match reading.by {
        Some(by) => (
            by.column(),
            format!("GROUP BY key ORDER BY {}", by.order()),
            "",
        ),
        None => ("NULL", String::new(), ""),
    };
    let sql = format!(
        "SELECT {key} AS key, COUNT(*), \
         COALESCE(SUM(input_tokens), 0), COALESCE(SUM(cache_read_tokens), 0), \
         COALESCE(SUM(cache_write_tokens), 0), COALESCE(SUM(output_tokens), 0), \
         COALESCE(SUM(reasoning_tokens), 0), SUM(cost_usd), \
         SUM(cost_usd IS NULL AND (input_tokens IS NOT NULL OR cache_read_tokens IS NOT NULL \
             OR cache_write_tokens IS NOT NULL OR output_tokens IS NOT NULL \
             OR reasoning_tokens IS NOT NULL)) \
         FROM requests WHERE time_ms >= ?1 AND (?2 IS NULL OR run_id = ?2) {group}{order}"
    );
    let mut statement = connection.prepare(&sql)?;
    let groups = statement.query_map(rusqlite::params![start_ms, reading.run], |row| {
        Ok(Group {
            key: row.get(0)?,
            requests: row.get(1)?,
            input_tokens: row.get(2)?,
            cache_read_tokens: row.get(3)?,
            cache_write_tokens: row.get(4)?,
            output_tokens: row.get(5)?,
            reasoning_tokens: row.get(6)?,
            cost_usd: row.get(7)?,
            unpriced_requests: row.get::<_, Option<u64>>(8)?.unwrap_or(0),
        })
    })?;
    let groups: Vec<Group> = groups.collect::<rusqlite::Result<_>>()?;
    // An aggregate without GROUP BY answers one row even over no rows.
    Ok(groups.into_iter().filter(|g| g.requests > 0).collect())
}
