//! What `wrap` tells the user: the `--dry-run` plan and the exit summary.
//! Both go to the user directly, not through the log.

use std::io::Write as _;
use std::path::Path;

use crate::proxy::stats::Snapshot;

use super::opencode::Plan;

pub fn dry_run(plan: &Plan, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, plan)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "Routed through headroom ({}):", plan.routed.len())?;
    for routed in &plan.routed {
        writeln!(
            out,
            "  {:<24} {}  via {}",
            routed.id, routed.upstream, routed.base_url
        )?;
    }
    writeln!(out, "Left alone ({}):", plan.left_alone.len())?;
    for left in &plan.left_alone {
        writeln!(out, "  {:<24} {}", left.id, left.reason)?;
    }
    writeln!(out, "OPENCODE_CONFIG_CONTENT overlay:")?;
    writeln!(out, "{}", serde_json::to_string_pretty(&plan.overlay)?)?;
    Ok(())
}

/// One line per upstream with traffic; nothing when nothing was forwarded.
pub fn summary(stats: &Snapshot, log_file: &Path) {
    if stats.upstreams.is_empty() {
        return;
    }
    eprintln!("headroom: forwarded through the proxy:");
    let mut any_errors = false;
    for entry in &stats.upstreams {
        let errors: u64 = entry.errors.values().sum();
        any_errors |= errors > 0;
        eprintln!(
            "headroom:   {} ({}): {} requests, {} errors",
            entry.origin,
            entry.family.as_str(),
            entry.requests,
            errors
        );
    }
    if any_errors {
        eprintln!("headroom: details in {}", log_file.display());
    }
}
