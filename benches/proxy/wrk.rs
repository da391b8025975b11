//! Load at 32 connections from wrk, where it is installed.
//!
//! The in-process load generator (hyper's client) spends more per request
//! than either proxy, and shares its core with the mock: under it, that
//! core saturates first and sets every path's rate, so the proxies'
//! throughputs can only tie. wrk, one thread of C, costs far less per
//! request, and with the lean mock (mock.rs) each proxy's core saturates
//! before the load generator's does: the rate is then the proxy's own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, ensure, Context as _};
use tokio::process::Command;

use crate::tail::Load;

/// The report line the script's `done` prints, then its fields.
const REPORT: &str = "headroom-bench-wrk";

/// Sends the bench's JSON request, and reports what was completed and
/// every kind of failure, so that a path answering errors fast cannot pass
/// for a fast path.
const SCRIPT: &str = r#"
wrk.method = "POST"
wrk.body = '{"model":"mock-1","messages":[{"role":"user","content":"ping"}]}'
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("headroom-bench-wrk %d %d %d\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"#;

/// wrk and the script it runs.
pub struct Wrk {
    script: PathBuf,
    _dir: tempfile::TempDir,
}

impl Wrk {
    /// `None` when wrk is not installed.
    pub fn find() -> anyhow::Result<Option<Wrk>> {
        if which::which("wrk").is_err() {
            return Ok(None);
        }
        let dir = tempfile::tempdir()?;
        let script = dir.path().join("bench.lua");
        std::fs::write(&script, SCRIPT)?;
        Ok(Some(Wrk { script, _dir: dir }))
    }

    /// Loads `addr` at `connections` for `seconds` (wrk's finest unit),
    /// with `upstream` as the override header when given. A failed
    /// request of any kind fails the run.
    pub async fn load(
        &self,
        addr: SocketAddr,
        path: &str,
        upstream: Option<&str>,
        connections: usize,
        seconds: u32,
    ) -> anyhow::Result<Load> {
        let mut command = Command::new("wrk");
        command
            .args(["--threads", "1"])
            .arg(format!("--connections={connections}"))
            .arg(format!("--duration={seconds}s"))
            .arg("--script")
            .arg(&self.script);
        if let Some(upstream) = upstream {
            command
                .arg("--header")
                .arg(format!("x-headroom-upstream: {upstream}"));
        }
        command.arg(format!("http://{addr}{path}"));
        let output = command.output().await.context("could not run wrk")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        ensure!(
            output.status.success(),
            "wrk failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        parse_report(&stdout)
    }
}

/// The completed requests and the time wrk ran, from the script's line.
fn parse_report(stdout: &str) -> anyhow::Result<Load> {
    let Some(line) = stdout.lines().find_map(|line| line.strip_prefix(REPORT)) else {
        bail!("wrk printed no report line:\n{stdout}");
    };
    let fields: Vec<u64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("wrk's report line is malformed: {line:?}"))?;
    let [completed, duration_us, failed] = fields[..] else {
        bail!(
            "wrk's report line has {} fields, not 3: {line:?}",
            fields.len()
        );
    };
    ensure!(
        failed == 0,
        "{failed} of wrk's requests failed or were not answered 2xx/3xx"
    );
    Ok(Load {
        completed,
        time: Duration::from_micros(duration_us),
    })
}
