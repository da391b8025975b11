//! tracing set-up. A bare level applies to headroom's own events; other
//! crates stay at `warn`, so that no dependency's trace output (which may
//! print request targets) reaches a log. A full filter in `RUST_LOG`
//! (with `=` or `,`) is taken as written.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context as _;
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

/// Logs to a file, appending; the directory is created when missing.
pub fn init_file(filter: EnvFilter, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create log directory {}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("could not open log file {}", path.display()))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(())
}
