//! `headroom usage`'s one query: totals per group over a window.

use rusqlite::{Connection, OptionalExtension as _};

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
    /// The tokens of the tool outputs compression read, as the client
    /// sent them and as they went upstream.
    pub tool_tokens_before: u64,
    pub tool_tokens_after: u64,
    /// At least what compression saved, over the requests it could be
    /// priced for (see [`Row::saved_usd`](super::Row::saved_usd)); `None`
    /// when there were none.
    pub saved_usd: Option<f64>,
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
    let version = super::store::schema_version(connection)?;
    let mut statement = connection.prepare(&totals_sql(reading, version))?;
    let run = reading.run.as_deref();
    let groups = match reading.by {
        Some(GroupBy::Model) => {
            // Its queries read one state of the ledger, rows that writers
            // add meanwhile in none of them.
            connection.execute_batch("BEGIN DEFERRED")?;
            let groups = by_model(connection, &mut statement, start_ms, run);
            connection.execute_batch("COMMIT")?;
            groups?
        }
        _ => statement
            .query_map(rusqlite::params![start_ms, run], group)?
            .collect::<rusqlite::Result<_>>()?,
    };
    // An aggregate without GROUP BY answers one row even over no rows.
    Ok(groups.into_iter().filter(|g| g.requests > 0).collect())
}

/// Totals per model, one range of the model index each: a window reads
/// its own rows only, where one GROUP BY over that index reads every row
/// of the ledger, however old. The models are found by a seek each.
fn by_model(
    connection: &Connection,
    per_model: &mut rusqlite::Statement<'_>,
    start_ms: i64,
    run: Option<&str>,
) -> rusqlite::Result<Vec<Group>> {
    let mut next =
        connection.prepare("SELECT model FROM requests WHERE model > ?1 ORDER BY model LIMIT 1")?;
    let mut models: Vec<Option<String>> = vec![None];
    let mut found: Option<String> =
        connection.query_row("SELECT MIN(model) FROM requests", [], |row| row.get(0))?;
    while let Some(model) = found {
        found = next.query_row([&model], |row| row.get(0)).optional()?;
        models.push(Some(model));
    }
    let mut groups = Vec::with_capacity(models.len());
    for model in models {
        groups.push(per_model.query_row(rusqlite::params![start_ms, run, model], group)?);
    }
    // As the grouped query orders its groups (NULL first among equals).
    groups.sort_by(|a, b| {
        let size = |g: &Group| g.input_tokens.saturating_add(g.output_tokens);
        size(b).cmp(&size(a)).then_with(|| a.key.cmp(&b.key))
    });
    Ok(groups)
}

fn group(row: &rusqlite::Row<'_>) -> rusqlite::Result<Group> {
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
        tool_tokens_before: tokens(row.get(9)?),
        tool_tokens_after: tokens(row.get(10)?),
        saved_usd: row.get(11)?,
    })
}

/// The query `totals` runs for `reading` on a ledger of schema `version`:
/// `?1` is the window's start, `?2` the run (NULL when none is asked
/// for), `?3` the model for `--by model`, which it runs once per model.
pub(super) fn totals_sql(reading: &Reading, version: i64) -> String {
    let (key, filter, group) = match reading.by {
        Some(GroupBy::Model) => ("?3", " AND model IS ?3", String::new()),
        Some(by) => (
            by.column(),
            "",
            format!(" GROUP BY key ORDER BY {}", by.order()),
        ),
        None => ("NULL", "", String::new()),
    };
    // Only what the indexes hold, so that no table row is read: run_id is
    // in neither, so it is compared only when asked for (else `?2` is NULL
    // and the condition a constant).
    let run = if reading.run.is_some() {
        " AND run_id = ?2"
    } else {
        " AND ?2 IS NULL"
    };
    let figures = figures_sql(version);
    format!("SELECT {key} AS key, {figures} FROM requests WHERE time_ms >= ?1{filter}{run}{group}")
}

/// A group's figures, in `Group`'s order after its key.
fn figures_sql(version: i64) -> String {
    // A ledger not yet migrated by a writer lacks the newer columns: what
    // they would hold is read as nothing recorded.
    let compression = match version {
        ..=1 => "0.0, 0.0, NULL",
        2 | 3 => "TOTAL(tool_tokens_before), TOTAL(tool_tokens_after), NULL",
        _ => "TOTAL(tool_tokens_before), TOTAL(tool_tokens_after), SUM(saved_usd)",
    };
    // TOTAL, a float, never fails on an overflow as SUM does: a ledger
    // written before counts were bounded may hold absurd ones. The ninth
    // column counts Row::cost_unknown: of the requests without a cost,
    // those that are not failures that reported nothing (a cost is stored
    // only with tokens). A CASE that a status below 400 settles at once is
    // the cheapest form of it.
    format!(
        "COUNT(*), \
         TOTAL(input_tokens) AS input, TOTAL(cache_read_tokens), \
         TOTAL(cache_write_tokens), TOTAL(output_tokens) AS output, \
         TOTAL(reasoning_tokens), SUM(cost_usd), \
         COUNT(*) - COUNT(cost_usd) - COUNT(CASE WHEN status >= 400 \
             AND input_tokens IS NULL AND cache_read_tokens IS NULL \
             AND cache_write_tokens IS NULL AND output_tokens IS NULL \
             AND reasoning_tokens IS NULL THEN 1 END), \
         {compression}"
    )
}

/// A token sum as TOTAL gives it: exact below 2^53, which no real ledger
/// reaches; past `u64` it saturates.
fn tokens(total: f64) -> u64 {
    total as u64
}
