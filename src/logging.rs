//! tracing set-up. A bare level applies to headroom's own events; other
//! crates stay at `warn`, so that no dependency's trace output (which may
//! print request targets) reaches a log. A full filter in `RUST_LOG`
//! (with `=` or `,`) is taken as written.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::EnvFilter;

use crate::cli::{LogFormat, LOG_LEVELS};
use crate::error::UsageError;

/// The filter for a `--log-level` value, else `RUST_LOG`, else `info`.
pub fn filter(flag: Option<&str>) -> anyhow::Result<EnvFilter> {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let requested = flag.map(str::to_owned).or(from_env);
    let Some(requested) = requested else {
        return Ok(EnvFilter::new("warn,headroom=info"));
    };
    let level = requested.trim().to_ascii_lowercase();
    if LOG_LEVELS.contains(&level.as_str()) {
        return Ok(EnvFilter::new(format!("warn,headroom={level}")));
    }
    if flag.is_some() || !(level.contains('=') || level.contains(',')) {
        // The flag's values are checked by clap; a bad level here is most
        // likely the variable, which the user may have forgotten setting.
        let holder = if flag.is_some() {
            "--log-level"
        } else {
            "RUST_LOG"
        };
        return Err(UsageError::new(format!(
            "{holder} has an unknown log level '{requested}' (use error, warn, info, debug or trace)"
        ))
        .into());
    }
    EnvFilter::try_new(&requested)
        .map_err(|e| UsageError::new(format!("RUST_LOG is not a valid filter: {e}")).into())
}

/// Colour only on a terminal, never with `NO_COLOR`.
pub fn stderr_wants_colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

pub fn init_stderr(filter: EnvFilter, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests in one process) is harmless to skip.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(stderr_wants_colour()).try_init(),
    };
}

/// Logs to a file in `format`, appending; the directory is created when
/// missing.
pub fn init_file(filter: EnvFilter, format: LogFormat, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create log directory {}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("could not open log file {}", path.display()))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file));
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
    Ok(())
}

/// The line that says where `headroom proxy` listens, which scripts and
/// tests read the address from: written whatever the log level, so it is
/// not a tracing event a filter could drop. In the JSON format it is
/// shaped as tracing's own JSON lines are, so that every line of the
/// stream parses and a reader finds the sentence under `fields.message`.
pub fn listening_line(format: LogFormat, addr: SocketAddr) -> String {
    let url = format!("http://{addr}");
    let banner = format!("headroom proxy listening on {url}");
    match format {
        LogFormat::Text => banner,
        LogFormat::Json => json_line(
            "INFO",
            "headroom::standalone",
            serde_json::json!({ "message": banner, "address": url }),
        ),
    }
}

/// The line for an error that ends the program. Under the JSON format it
/// is a line like the others, so that a reader parsing the stream does
/// not meet the one line that breaks it when something has gone wrong.
pub fn fatal_line(format: LogFormat, message: &str) -> String {
    match format {
        LogFormat::Text => format!("headroom: error: {message}"),
        LogFormat::Json => json_line(
            "ERROR",
            "headroom",
            serde_json::json!({ "message": message }),
        ),
    }
}

/// One line shaped as tracing's JSON formatter writes its events.
fn json_line(level: &str, target: &str, fields: serde_json::Value) -> String {
    let mut timestamp = String::new();
    // Writing to a String cannot fail.
    let _ = SystemTime.format_time(&mut Writer::new(&mut timestamp));
    serde_json::json!({
        "timestamp": timestamp,
        "level": level,
        "fields": fields,
        "target": target,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_takes_the_logs_format() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 8787));
        let text = listening_line(LogFormat::Text, addr);
        assert_eq!(text, "headroom proxy listening on http://127.0.0.1:8787");
        let json = listening_line(LogFormat::Json, addr);
        let line: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(line["fields"]["message"], text.as_str(), "{json}");
        assert_eq!(line["fields"]["address"], "http://127.0.0.1:8787");
        assert_eq!(line["level"], "INFO");
        let timestamp = line["timestamp"].as_str().unwrap_or_default();
        assert!(timestamp.ends_with('Z'), "{json}");
        assert!(!json.contains('\n'), "one line: {json}");
    }

    #[test]
    fn the_fatal_line_takes_the_logs_format() {
        let message = "could not listen\non 127.0.0.1:1";
        let text = fatal_line(LogFormat::Text, message);
        assert_eq!(text, format!("headroom: error: {message}"));
        let json = fatal_line(LogFormat::Json, message);
        let line: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(line["fields"]["message"], message, "{json}");
        assert_eq!(line["level"], "ERROR", "{json}");
        assert_eq!(line["target"], "headroom", "{json}");
        assert!(!json.contains('\n'), "one line: {json}");
    }
}
