//! What `wrap` tells the user: the `--dry-run` plan and the exit summary.
//! Both go to the user directly, not through the log.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use crate::figures;
use crate::proxy::stats::{Snapshot, UpstreamSnapshot};
use crate::proxy::upstream::Upstream;
use crate::record::TallyLine;

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

/// Columns of the summary's table: provider, model, then the figures.
const PROVIDER_WIDTH: usize = 13;
const MODEL_WIDTH: usize = 21;

/// The exit summary on stderr: requests in all, then the LLM requests by
/// provider and model with their total, then the log. 79 columns at most.
pub fn summary(stats: &Snapshot, lines: &[TallyLine], log_file: &Path) {
    for line in summary_lines(stats, lines, log_file) {
        eprintln!("{line}");
    }
}

fn summary_lines(stats: &Snapshot, lines: &[TallyLine], log_file: &Path) -> Vec<String> {
    let errors = |entry: &UpstreamSnapshot| entry.errors.values().sum::<u64>();
    let requests: u64 = stats.upstreams.iter().map(|e| e.requests).sum();
    let all_errors: u64 = stats.upstreams.iter().map(errors).sum();
    let mut text = vec![format!(
        "headroom: forwarded through the proxy: {}, {}",
        count(requests, "request"),
        count(all_errors, "error")
    )];
    if !lines.is_empty() {
        text.push(format!(
            "  {:<PROVIDER_WIDTH$}{:<MODEL_WIDTH$}{:>5}{:>8}{:>7}{:>8}{:>10}{:>5}",
            "PROVIDER", "MODEL", "REQS", "INPUT", "CACHED", "OUTPUT", "COST", "ERRS"
        ));
        for line in lines {
            let provider = line.provider.as_deref().unwrap_or("-");
            let model = line.model.as_deref().unwrap_or("(unknown)");
            text.push(table_line(provider, model, line));
        }
        let total = TallyLine::total(lines);
        text.push(table_line("total", "", &total));
        if total.unpriced_requests > 0 {
            text.push(format!(
                "  + the cost leaves out {} of models without a price",
                count(total.unpriced_requests, "request")
            ));
        }
    }
    text.push(format!("headroom: log: {}", log_file.display()));
    text
}

fn table_line(provider: &str, model: &str, line: &TallyLine) -> String {
    format!(
        "  {:<PROVIDER_WIDTH$}{:<MODEL_WIDTH$}{:>5}{:>8}{:>7}{:>8}{:>10}{:>5}",
        figures::fit(provider, PROVIDER_WIDTH),
        figures::fit(model, MODEL_WIDTH),
        line.requests,
        figures::tokens(line.input_tokens),
        cached_share(line),
        figures::tokens(line.output_tokens),
        figures::dollars(line.cost_usd, line.unpriced_requests),
        line.errors,
    )
}

/// The share of the input read from the provider's cache, to the percent.
fn cached_share(line: &TallyLine) -> String {
    if line.input_tokens == 0 {
        return "-".to_string();
    }
    let share = (line.cache_read_tokens as f64 / line.input_tokens as f64 * 100.0).round();
    format!("{share}%")
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
            names_itself: true,
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

    fn tallied(provider: Option<&str>, model: Option<&str>, figures: [u64; 5]) -> TallyLine {
        let [requests, errors, input, cached, output] = figures;
        TallyLine {
            provider: provider.map(str::to_owned),
            model: model.map(str::to_owned),
            requests,
            errors,
            input_tokens: input,
            cache_read_tokens: cached,
            output_tokens: output,
            cost_usd: None,
            unpriced_requests: 0,
        }
    }

    fn stats(upstreams: Vec<UpstreamSnapshot>) -> Snapshot {
        Snapshot {
            uptime_seconds: 1,
            upstreams,
            models: Vec::new(),
        }
    }

    #[test]
    fn a_line_per_provider_and_model_then_the_total_and_the_log() {
        let stats = stats(vec![
            traffic("https://api.anthropic.com", Family::Anthropic, 4, 1),
            traffic("http://127.0.0.1:8080", Family::OpenAi, 3, 0),
        ]);
        let lines = [
            TallyLine {
                cost_usd: Some(0.7912),
                ..tallied(
                    Some("anthropic"),
                    Some("claude-sonnet-4-5"),
                    [3, 1, 948_290, 894_976, 27_669],
                )
            },
            TallyLine {
                cost_usd: Some(0.004),
                ..tallied(
                    Some("anthropic"),
                    Some("claude-haiku-4-5-20251001-extended"),
                    [1, 0, 2_500_000, 0, 310],
                )
            },
            TallyLine {
                unpriced_requests: 2,
                ..tallied(
                    Some("local-llama-server"),
                    Some("qwen3-coder"),
                    [2, 0, 6, 0, 12],
                )
            },
            tallied(None, None, [1, 1, 0, 0, 0]),
        ];
        let text = summary_lines(&stats, &lines, Path::new("/s/wrap.log"));
        assert_eq!(
            text,
            [
                "headroom: forwarded through the proxy: 7 requests, 1 error",
                "  PROVIDER     MODEL                 REQS   INPUT CACHED  OUTPUT      COST ERRS",
                "  anthropic    claude-sonnet-4-5        3  948290    94%   27669     $0.79    1",
                "  anthropic    claude-haiku-4-5-20…     1    2.5M     0%     310    <$0.01    0",
                "  local-llama… qwen3-coder              2       6     0%      12        -+    0",
                "  -            (unknown)                1       0      -       0         -    1",
                "  total                                 7    3.4M    26%   27991    $0.80+    2",
                "  + the cost leaves out 2 requests of models without a price",
                "headroom: log: /s/wrap.log",
            ]
        );
        for line in &text[..text.len() - 1] {
            assert!(line.chars().count() < 80, "{} columns: {line}", line.len());
        }
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
                "headroom: forwarded through the proxy: 0 requests, 0 errors",
                "headroom: log: /s/wrap.log"
            ]
        );
    }
}
