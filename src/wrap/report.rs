//! What `wrap` tells the user: the `--dry-run` plan and the exit summary.
//! Both go to the user directly, not through the log.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use crate::proxy::stats::{Snapshot, UpstreamSnapshot};
use crate::proxy::upstream::Upstream;

use super::opencode::{Plan, Routed};

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

/// The exit summary on stderr: requests in all, then one line per
/// upstream with traffic naming the providers sent there, then the log.
pub fn summary(stats: &Snapshot, routed: &[Routed], log_file: &Path) {
    for line in summary_lines(stats, routed, log_file) {
        eprintln!("headroom: {line}");
    }
}

fn summary_lines(stats: &Snapshot, routed: &[Routed], log_file: &Path) -> Vec<String> {
    let errors = |entry: &UpstreamSnapshot| entry.errors.values().sum::<u64>();
    let requests: u64 = stats.upstreams.iter().map(|e| e.requests).sum();
    let all_errors: u64 = stats.upstreams.iter().map(errors).sum();
    let mut lines = vec![format!(
        "forwarded through the proxy: {}, {}",
        count(requests, "request"),
        count(all_errors, "error")
    )];
    let providers = providers_by_origin(routed);
    for entry in &stats.upstreams {
        // The proxy counts per origin: providers that share one share a line.
        let who = providers
            .get(entry.origin.as_str())
            .map_or_else(|| entry.origin.clone(), |ids| ids.join(", "));
        lines.push(format!(
            "  {who} ({} API): {}, {}",
            entry.family.as_str(),
            count(entry.requests, "request"),
            count(errors(entry), "error")
        ));
    }
    lines.push(format!("log: {}", log_file.display()));
    lines
}

/// The routed providers' ids by the origin the proxy records for them,
/// joined with `,` when one origin serves several: the ledger's provider.
pub fn provider_ids_by_origin(routed: &[Routed]) -> BTreeMap<String, String> {
    providers_by_origin(routed)
        .into_iter()
        .map(|(origin, ids)| (origin, ids.join(",")))
        .collect()
}

/// The routed providers' ids by the origin the proxy records for them.
fn providers_by_origin(routed: &[Routed]) -> BTreeMap<String, Vec<&str>> {
    let mut by_origin: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for provider in routed {
        if let Ok(upstream) = Upstream::parse(&provider.upstream) {
            by_origin
                .entry(upstream.origin_str().to_string())
                .or_default()
                .push(&provider.id);
        }
    }
    by_origin
}

fn count(n: u64, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::routes::Family;
    use crate::proxy::stats::Latency;

    fn routed(id: &str, upstream: &str) -> Routed {
        Routed {
            id: id.into(),
            upstream: upstream.into(),
            base_url: "http://127.0.0.1:1/v1".into(),
        }
    }

    fn traffic(origin: &str, family: Family, requests: u64, errors: u64) -> UpstreamSnapshot {
        UpstreamSnapshot {
            origin: origin.into(),
            family,
            requests,
            errors: BTreeMap::from([("upstream_5xx", errors)]),
            bytes_in: 0,
            bytes_out: 0,
            latency_ms: Latency { p50: 0.0, p99: 0.0 },
        }
    }

    #[test]
    fn names_provider_ids_and_ends_with_the_log() {
        let routed = [
            routed("groq", "https://api.groq.com/openai/v1"),
            routed("deepseek", "https://api.deepseek.com"),
            routed("gateway", "https://api.deepseek.com/other/v1"),
        ];
        let stats = Snapshot {
            uptime_seconds: 1,
            upstreams: vec![
                traffic("https://api.deepseek.com", Family::OpenAi, 1, 1),
                traffic("https://api.groq.com", Family::OpenAi, 3, 0),
                traffic("(none)", Family::OpenAi, 2, 2),
            ],
            models: Vec::new(),
        };
        let lines = summary_lines(&stats, &routed, Path::new("/s/wrap.log"));
        assert_eq!(
            lines,
            [
                "forwarded through the proxy: 6 requests, 3 errors",
                "  deepseek, gateway (openai API): 1 request, 1 error",
                "  groq (openai API): 3 requests, 0 errors",
                "  (none) (openai API): 2 requests, 2 errors",
                "log: /s/wrap.log",
            ]
        );
    }

    #[test]
    fn the_ledger_names_every_provider_an_origin_serves() {
        let routed = [
            routed("groq", "https://api.groq.com/openai/v1"),
            routed("deepseek", "https://api.deepseek.com"),
            routed("gateway", "https://api.deepseek.com/other/v1"),
        ];
        assert_eq!(
            provider_ids_by_origin(&routed),
            BTreeMap::from([
                (
                    "https://api.deepseek.com".to_string(),
                    "deepseek,gateway".to_string()
                ),
                ("https://api.groq.com".to_string(), "groq".to_string()),
            ])
        );
    }

    #[test]
    fn no_traffic_is_said_too() {
        let stats = Snapshot {
            uptime_seconds: 0,
            upstreams: Vec::new(),
            models: Vec::new(),
        };
        let lines = summary_lines(&stats, &[], Path::new("/s/wrap.log"));
        assert_eq!(
            lines,
            [
                "forwarded through the proxy: 0 requests, 0 errors",
                "log: /s/wrap.log"
            ]
        );
    }
}
