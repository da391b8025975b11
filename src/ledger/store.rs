//! The database file: its schema, opening it for writing (creating and
//! migrating it) or for reading, and inserting rows.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Statement, ToSql};

use super::Row;

/// The schema this headroom writes and reads (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 4;

/// How long a writer waits for another process's lock before giving up a
/// batch. The wait happens on the ledger's own thread, never a request's.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The table, and the index that serves `--run`; `TOTALS_INDEXES` the
/// others.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    agent TEXT NOT NULL,
    run_id TEXT NOT NULL,
    provider TEXT,
    upstream_origin TEXT NOT NULL,
    family TEXT,
    model TEXT,
    status INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    input_tokens INTEGER,
    cache_read_tokens INTEGER,
    cache_write_tokens INTEGER,
    output_tokens INTEGER,
    reasoning_tokens INTEGER,
    complete INTEGER NOT NULL,
    cost_usd REAL,
    tool_tokens_before INTEGER,
    tool_tokens_after INTEGER,
    saved_usd REAL
);
CREATE INDEX IF NOT EXISTS requests_by_run ON requests (run_id, time_ms);
";

/// Two covering indexes, so that totals read an index and never the
/// table: by time for a short window (today, the default), by model then
/// time for `--by model`, whose groups then come in index order without
/// a sort. The status tells which requests the cost leaves out.
const TOTALS_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS requests_by_time ON requests (
    time_ms, model, input_tokens, cache_read_tokens, cache_write_tokens,
    output_tokens, reasoning_tokens, cost_usd, status, tool_tokens_before,
    tool_tokens_after, saved_usd
);
CREATE INDEX IF NOT EXISTS requests_by_model ON requests (
    model, time_ms, input_tokens, cache_read_tokens, cache_write_tokens,
    output_tokens, reasoning_tokens, cost_usd, status, tool_tokens_before,
    tool_tokens_after, saved_usd
);
";

/// From schema 1: the tokens of each request's tool outputs before and
/// after compression.
const ADD_TOOL_TOKENS: &str = "
ALTER TABLE requests ADD COLUMN tool_tokens_before INTEGER;
ALTER TABLE requests ADD COLUMN tool_tokens_after INTEGER;
";

/// From schema 3: what compression saved, in USD.
const ADD_SAVED_USD: &str = "ALTER TABLE requests ADD COLUMN saved_usd REAL;";

/// Before schema 4 the covering indexes held fewer columns (from schema 3
/// the status, from 4 the tool outputs' tokens and what compression
/// saved): they are made again.
const DROP_TOTALS_INDEXES: &str = "
DROP INDEX IF EXISTS requests_by_time;
DROP INDEX IF EXISTS requests_by_model;
";

#[derive(Debug)]
pub enum StoreError {
    /// The file was written by a newer headroom, whose schema this one
    /// does not know.
    NewerSchema { path: PathBuf, version: i64 },
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl StoreError {
    /// Another connection held a lock this one could not wait for.
    fn is_busy(&self) -> bool {
        matches!(self, StoreError::Sqlite { source, .. } if is_busy(source))
    }
}

/// Did another connection hold a lock past the wait, or one SQLite does
/// not wait for?
pub(super) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NewerSchema { path, version } => write!(
                f,
                "the usage ledger {} has schema version {version}, newer than this headroom's {SCHEMA_VERSION}",
                path.display()
            ),
            StoreError::Sqlite { path, source } => {
                write!(f, "could not use the usage ledger {}: {source}", path.display())?;
                match remedy(path, source) {
                    Some(remedy) => write!(f, " ({remedy})"),
                    None => Ok(()),
                }
            }
            StoreError::Io { path, source } => {
                write!(f, "could not use the usage ledger {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for StoreError {}

/// What the user can do about `error` on the file at `path`, when the
/// cause is plain.
fn remedy(path: &Path, error: &rusqlite::Error) -> Option<&'static str> {
    use rusqlite::ErrorCode::{
        CannotOpen, DatabaseBusy, DatabaseCorrupt, DatabaseLocked, NotADatabase, PermissionDenied,
    };
    match error.sqlite_error_code()? {
        // Another process's long write: a first one migrating a large
        // ledger to a new schema.
        DatabaseBusy | DatabaseLocked => Some("another headroom is writing it: try again shortly"),
        NotADatabase | DatabaseCorrupt => {
            Some("move the file aside, and headroom starts a new ledger in its place")
        }
        CannotOpen if path.is_dir() => Some("it is a directory: move it aside"),
        CannotOpen | PermissionDenied => {
            Some("check the permissions of the file and its directory")
        }
        _ => None,
    }
}

/// `result` with the database's path attached.
fn at<T>(path: &Path, result: rusqlite::Result<T>) -> Result<T, StoreError> {
    result.map_err(|source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    })
}

/// Opens (creating the file and its directory when missing) the database
/// for writing, in WAL mode so that readers and other writers — several
/// headroom processes at once — do not block one another for long.
pub(super) fn open_for_writing(path: &Path) -> Result<Connection, StoreError> {
    // Switching a new file to WAL takes the whole database's lock, and
    // SQLite does not wait for that one: two processes that start together
    // on a new ledger take turns here instead.
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match try_open_for_writing(path) {
            Err(error) if error.is_busy() && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            opened => return opened,
        }
    }
}

fn try_open_for_writing(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let mut connection = at(path, Connection::open(path))?;
    at(path, connection.busy_timeout(BUSY_TIMEOUT))?;
    at(
        path,
        connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0)),
    )?;
    // WAL with NORMAL loses at most the last transactions on a power cut,
    // never the file; a usage ledger needs no more.
    at(
        path,
        connection.pragma_update(None, "synchronous", "NORMAL"),
    )?;
    migrate(path, &mut connection)?;
    Ok(connection)
}

/// Creates the schema once; two processes starting together take turns on
/// the write lock, and the second finds the version already set.
fn migrate(path: &Path, connection: &mut Connection) -> Result<(), StoreError> {
    let transaction = at(
        path,
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate),
    )?;
    let version = at(path, schema_version(&transaction))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            version,
        });
    }
    if version < SCHEMA_VERSION {
        let steps: &[&str] = match version {
            1 => &[
                ADD_TOOL_TOKENS,
                ADD_SAVED_USD,
                DROP_TOTALS_INDEXES,
                TOTALS_INDEXES,
            ],
            2 | 3 => &[ADD_SAVED_USD, DROP_TOTALS_INDEXES, TOTALS_INDEXES],
            _ => &[SCHEMA, TOTALS_INDEXES],
        };
        for step in steps {
            at(path, transaction.execute_batch(step))?;
        }
        at(
            path,
            transaction.pragma_update(None, "user_version", SCHEMA_VERSION),
        )?;
    }
    at(path, transaction.commit())
}

pub(super) fn schema_version(connection: &Connection) -> rusqlite::Result<i64> {
    connection.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Opens an existing database for `headroom usage`; `Ok(None)` when there
/// is no file, or no table in it yet: nothing was recorded.
pub fn open_for_reading(path: &Path) -> Result<Option<Connection>, StoreError> {
    if !path.exists() {
        return Ok(None);
    }
    let opened = match open_to_read(path, Sharing::Shared) {
        // Reading a WAL database alongside writers needs its shared-memory
        // file, which a reader who may not write the file or directory
        // (another user's ledger, a read-only copy) cannot use: no writer
        // can be at work there either, so the file is read as it stands.
        Err(error) if cannot_share(&error) => open_to_read(path, Sharing::Immutable),
        opened => opened,
    };
    let (connection, version) = at(path, opened)?;
    match version {
        0 => Ok(None),
        // An older schema is read as it stands: `totals` asks the version
        // and reads its missing columns as nothing recorded.
        1..=SCHEMA_VERSION => Ok(Some(connection)),
        version => Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            version,
        }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sharing {
    /// Alongside writers, through WAL's shared memory. Opened for writing
    /// (never creating) though only read: the last connection to close
    /// removes the WAL's files, which a read-only one would leave behind,
    /// owned by whoever read.
    Shared,
    /// Read-only, as a file no one writes: no locks, no shared memory.
    Immutable,
}

/// A connection that reads `path`, and its schema's version.
fn open_to_read(path: &Path, sharing: Sharing) -> rusqlite::Result<(Connection, i64)> {
    let connection = match sharing {
        Sharing::Shared => Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?,
        Sharing::Immutable => Connection::open_with_flags(
            immutable_uri(path),
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?,
    };
    connection.busy_timeout(BUSY_TIMEOUT)?;
    let version = schema_version(&connection)?;
    Ok((connection, version))
}

/// Did a connection fail for want of WAL's shared memory?
fn cannot_share(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly)
    )
}

/// `file:PATH?immutable=1`, the path's bytes that a URI gives a meaning
/// to, or that are not ASCII, escaped.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for &byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'%' | b'?' | b'#' | 0x80.. => uri.push_str(&format!("%{byte:02X}")),
            _ => uri.push(char::from(byte)),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// Rows one `INSERT` statement carries when a batch has that many: each
/// statement costs SQLite a setup and a halt, whatever its rows.
const ROWS_PER_STATEMENT: usize = 16;

/// A row's columns, in the order `insert` binds them.
const COLUMNS: usize = 19;

/// `INSERT` of `rows` rows, numbered parameters for each in turn.
fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO requests (time_ms, agent, run_id, provider, upstream_origin, family, \
         model, status, duration_ms, input_tokens, cache_read_tokens, cache_write_tokens, \
         output_tokens, reasoning_tokens, complete, cost_usd, tool_tokens_before, \
         tool_tokens_after, saved_usd) VALUES ",
    );
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 1..=COLUMNS {
            let separator = if column == COLUMNS { ")" } else { ", " };
            sql.push_str(&format!("?{}{separator}", row * COLUMNS + column));
        }
    }
    sql
}

/// Inserts `rows` in one transaction: one fsync for a whole batch, in as
/// few statements as the batch allows, in order.
pub(super) fn insert(connection: &mut Connection, rows: &[Row]) -> rusqlite::Result<()> {
    static ONE: LazyLock<String> = LazyLock::new(|| insert_sql(1));
    static MANY: LazyLock<String> = LazyLock::new(|| insert_sql(ROWS_PER_STATEMENT));
    let transaction = connection.transaction()?;
    {
        let mut chunks = rows.chunks_exact(ROWS_PER_STATEMENT);
        if chunks.len() > 0 {
            let mut statement = transaction.prepare_cached(&MANY)?;
            for chunk in &mut chunks {
                for (at, row) in chunk.iter().enumerate() {
                    bind(&mut statement, at * COLUMNS, row)?;
                }
                statement.raw_execute()?;
            }
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut statement = transaction.prepare_cached(&ONE)?;
            for row in rest {
                bind(&mut statement, 0, row)?;
                statement.raw_execute()?;
            }
        }
    }
    transaction.commit()
}

/// Binds `row` to the parameters after the first `before`.
fn bind(statement: &mut Statement<'_>, before: usize, row: &Row) -> rusqlite::Result<()> {
    let usage = &row.usage;
    let values: [&dyn ToSql; COLUMNS] = [
        &row.time_ms,
        &row.agent,
        &row.run_id,
        &row.provider,
        &row.upstream_origin,
        &row.family.map(|f| f.as_str()),
        &usage.model,
        &row.status,
        &row.duration_ms,
        &usage.input_tokens,
        &usage.cache_read_tokens,
        &usage.cache_write_tokens,
        &usage.output_tokens,
        &usage.reasoning_tokens,
        &usage.complete,
        // A cost without tokens would be invented; the query counts
        // unpriced requests on this being so.
        &row.cost_usd.filter(|_| usage.reported()),
        &row.tool_tokens.map(|tokens| tokens.before),
        &row.tool_tokens.map(|tokens| tokens.after),
        &row.saved_usd.filter(|_| usage.reported()),
    ];
    for (at, value) in values.into_iter().enumerate() {
        statement.raw_bind_parameter(before + at + 1, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_immutable_read_finds_a_file_whose_name_a_uri_would_mangle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a?b#c%20d é.db");
        let connection = Connection::open(&path).unwrap();
        connection.pragma_update(None, "user_version", 7).unwrap();
        drop(connection);
        let (_, version) = open_to_read(&path, Sharing::Immutable).unwrap();
        assert_eq!(version, 7);
    }

    #[test]
    fn a_plain_cause_comes_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_database = dir.path().join("noise.db");
        std::fs::write(&not_a_database, vec![0x5a; 8192]).unwrap();
        let error = open_for_reading(&not_a_database).unwrap_err().to_string();
        assert!(
            error.ends_with("(move the file aside, and headroom starts a new ledger in its place)"),
            "{error}"
        );
        let directory = dir.path().join("dir.db");
        std::fs::create_dir(&directory).unwrap();
        let error = open_for_reading(&directory).unwrap_err().to_string();
        assert!(
            error.ends_with("(it is a directory: move it aside)"),
            "{error}"
        );
    }
}
