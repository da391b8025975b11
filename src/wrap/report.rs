//! What `wrap` tells the user: the `--dry-run` plan and the exit summary.
//! Both go to the user directly, not through the log.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::figures;
use crate::proxy::stats::{CompressionSnapshot, Snapshot, UpstreamSnapshot};
use crate::proxy::upstream::Upstream;
use crate::record::TallyLine;

use super::agent::{Launch, Routed};
use super::mask;

/// Everything a dry run shows.
pub struct DryRun<'a> {
    pub agent: &'static str,
    /// Why nothing can be routed, when nothing can; `launch` is then the
    /// unrouted one `--allow-unrouted` would make.
    pub unroutable: Option<String>,
    pub binary: &'a Path,
    pub user_args: &'a [OsString],
    /// The private directory overlay files would be written into.
    pub dir: &'a Path,
    pub launch: &'a Launch,
    /// What every child gets beside the launch's own variables.
    pub every_childs_env: &'a [(&'static str, OsString)],
}

impl DryRun<'_> {
    fn command(&self) -> Vec<String> {
        std::iter::once(self.binary.display().to_string())
            .chain(self.launch.args.iter().map(|arg| arg.shown.clone()))
            .chain(
                self.user_args
                    .iter()
                    .map(|arg| arg.to_string_lossy().into_owned()),
            )
            .collect()
    }

    /// The variables the child gets, in the order it gets them.
    fn env(&self) -> Vec<(String, String)> {
        let launch = self
            .launch
            .env
            .iter()
            .map(|(name, value)| (name.clone(), value.shown.clone()));
        let every_child = self
            .every_childs_env
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string_lossy().into_owned()));
        launch.chain(every_child).collect()
    }

    /// The routed providers with the secrets in their URLs masked.
    fn routed(&self) -> Vec<Routed> {
        self.launch
            .routed
            .iter()
            .map(|routed| Routed {
                upstream: mask::url(&routed.upstream),
                base_url: mask::url(&routed.base_url),
                ..routed.clone()
            })
            .collect()
    }

    fn to_json(&self) -> Value {
        let launch = self.launch;
        let mut out = Map::new();
        out.insert("agent".into(), json!(self.agent));
        if let Some(why) = &self.unroutable {
            out.insert("unroutable".into(), json!(why));
        }
        out.insert("routed".into(), json!(self.routed()));
        out.insert("left_alone".into(), json!(launch.left_alone));
        for detail in &launch.details {
            out.insert(detail.key.into(), mask::urls(&detail.value));
        }
        out.insert("command".into(), json!(self.command()));
        let env: Map<String, Value> = self
            .env()
            .into_iter()
            .map(|(name, value)| (name, json!(value)))
            .collect();
        out.insert("env".into(), Value::Object(env));
        out.insert("env_removed".into(), json!(launch.env_removed));
        let files: Vec<Value> = launch
            .files
            .iter()
            .map(|f| json!({"path": self.dir.join(&f.name), "contents": f.contents.shown}))
            .collect();
        out.insert("files".into(), json!(files));
        Value::Object(out)
    }
}

pub fn dry_run(plan: &DryRun, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &plan.to_json())?;
        writeln!(out)?;
        return Ok(());
    }
    for line in dry_run_lines(plan)? {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn dry_run_lines(plan: &DryRun) -> anyhow::Result<Vec<String>> {
    let launch = plan.launch;
    let mut lines = match &plan.unroutable {
        Some(why) => vec![
            format!("Not routable: {why}"),
            "With --allow-unrouted, headroom launches it without the proxy:".into(),
        ],
        None => routing_lines(plan),
    };
    for detail in &launch.details {
        lines.push(format!("{}:", detail.title));
        lines.push(serde_json::to_string_pretty(&mask::urls(&detail.value))?);
    }
    lines.push("Command:".into());
    let words: Vec<String> = plan.command().iter().map(|w| shell_quote(w)).collect();
    lines.push(format!("  {}", words.join(" ")));
    lines.push("Environment:".into());
    for (name, value) in plan.env() {
        lines.push(format!("  {name}={}", shell_quote(&value)));
    }
    for name in &launch.env_removed {
        lines.push(format!("  unset {name}"));
    }
    for file in &launch.files {
        lines.push(format!("File {}:", plan.dir.join(&file.name).display()));
        lines.push(file.contents.shown.clone());
    }
    Ok(lines)
}

/// What is routed through the proxy and what is left alone, and why.
fn routing_lines(plan: &DryRun) -> Vec<String> {
    let routed = plan.routed();
    let left_alone = &plan.launch.left_alone;
    let mut lines = vec![format!("Routed through headroom ({}):", routed.len())];
    for routed in &routed {
        lines.push(format!(
            "  {} {}  via {}",
            figures::pad(&routed.id, 24),
            routed.upstream,
            routed.base_url
        ));
    }
    lines.push(format!("Left alone ({}):", left_alone.len()));
    for left in left_alone {
        lines.push(format!("  {} {}", figures::pad(&left.id, 24), left.reason));
    }
    lines
}

/// `word` as a POSIX shell reads it back: bare when that is safe.
fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
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
        figures::count(requests, "request"),
        figures::count(all_errors, "error")
    )];
    let total = TallyLine::total(lines);
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
        text.push(table_line("total", "", &total));
        if total.unpriced_requests > 0 {
            text.push(format!(
                "  + the cost leaves out {} without a price or reported usage",
                figures::count(total.unpriced_requests, "request")
            ));
        }
    }
    text.extend(compression_line(&stats.compression, total.saved_usd));
    text.push(format!("headroom: log: {}", log_file.display()));
    text
}

/// What compression saved, when it read any tool output: `saved_usd` is
/// at least what that was worth, over the requests that could be priced.
fn compression_line(counted: &CompressionSnapshot, saved_usd: Option<f64>) -> Option<String> {
    let saved = figures::compression_saved(
        counted.tool_tokens_before,
        counted.tool_tokens_after,
        saved_usd,
    )?;
    Some(format!(
        "headroom: {saved} (in {})",
        figures::count(counted.requests, "request")
    ))
}

fn table_line(provider: &str, model: &str, line: &TallyLine) -> String {
    format!(
        "  {}{}{:>5}{:>8}{:>7}{:>8}{:>10}{:>5}",
        figures::cell(provider, PROVIDER_WIDTH),
        figures::cell(model, MODEL_WIDTH),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use unicode_width::UnicodeWidthStr as _;

    use super::*;
    use crate::proxy::routes::Family;
    use crate::proxy::stats::Latency;
    use crate::wrap::agent::{Detail, LeftAlone, OverlayFile, Shown};

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
            saved_usd: None,
        }
    }

    fn stats(upstreams: Vec<UpstreamSnapshot>) -> Snapshot {
        Snapshot {
            uptime_seconds: 1,
            upstreams,
            models: Vec::new(),
            compression: CompressionSnapshot::default(),
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
                "  + the cost leaves out 2 requests without a price or reported usage",
                "headroom: log: /s/wrap.log",
            ]
        );
        for line in &text[..text.len() - 1] {
            assert!(line.width() < 80, "{} columns: {line}", line.width());
        }
    }

    #[test]
    fn wide_names_keep_the_columns_in_line() {
        let stats = stats(vec![traffic(
            "https://dashscope.aliyuncs.com",
            Family::OpenAi,
            2,
            0,
        )]);
        let lines = [
            tallied(
                Some("阿里云百炼"),
                Some("通义千问-qwen3-max"),
                [1, 0, 10, 0, 5],
            ),
            tallied(Some("dashscope"), Some("通义千问"), [1, 0, 10, 0, 5]),
        ];
        let text = summary_lines(&stats, &lines, Path::new("/s/wrap.log"));
        assert_eq!(
            text[2..5],
            [
                "  阿里云百炼   通义千问-qwen3-max       1      10     0%       5         -    0",
                "  dashscope    通义千问                 1      10     0%       5         -    0",
                "  total                                 2      20     0%      10         -    0",
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
    fn what_compression_saved_is_said_before_the_log() {
        let mut stats = stats(Vec::new());
        stats.compression = CompressionSnapshot {
            requests: 12,
            tool_tokens_before: 40_000,
            tool_tokens_after: 30_000,
        };
        let lines = summary_lines(&stats, &[], Path::new("/s/wrap.log"));
        assert_eq!(
            lines[1..],
            [
                "headroom: compression saved 10000 tokens of tool output, 25% (in 12 requests)",
                "headroom: log: /s/wrap.log"
            ]
        );
        let mut priced = tallied(Some("anthropic"), Some("claude"), [12, 0, 9, 0, 1]);
        priced.saved_usd = Some(0.031);
        let lines = summary_lines(&stats, &[priced], Path::new("/s/wrap.log"));
        assert_eq!(
            lines[lines.len() - 2],
            "headroom: compression saved 10000 tokens of tool output, 25%, worth at least $0.03 (in 12 requests)"
        );
    }

    #[test]
    fn no_traffic_is_said_too() {
        let stats = Snapshot {
            uptime_seconds: 0,
            upstreams: Vec::new(),
            models: Vec::new(),
            compression: CompressionSnapshot::default(),
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

    #[test]
    fn a_dry_run_shows_the_exact_command_env_and_files_with_secrets_masked() {
        let launch = Launch {
            routed: vec![routed("anthropic", "https://u:secret@gw.dev/v1?key=secret")],
            left_alone: vec![LeftAlone::new("x", "why not")],
            env: vec![("TOKENS".into(), Shown::masked("a: secret", "a: ***"))],
            env_removed: vec!["GONE".into()],
            args: vec![
                Shown::plain("--settings"),
                Shown::masked("{\"k\":\"s\"}", "{\"k\":\"***\"}"),
            ],
            files: vec![OverlayFile {
                name: "f.json".into(),
                contents: Shown::masked("secret", "***"),
            }],
            details: vec![Detail {
                key: "overlay",
                title: "Overlay".into(),
                value: json!({"h": "https://gw.dev?token=secret"}),
            }],
        };
        let user_args = [OsString::from("-p"), OsString::from("say hi")];
        let plan = DryRun {
            agent: "claude",
            unroutable: None,
            binary: Path::new("/bin/claude"),
            user_args: &user_args,
            dir: Path::new("/run/headroom/wrap-RUN"),
            launch: &launch,
            every_childs_env: &[("NO_PROXY", "127.0.0.1,localhost".into())],
        };
        let text = dry_run_lines(&plan).unwrap().join("\n");
        assert!(!text.contains("secret"), "{text}");
        assert!(
            text.contains("anthropic                https://u:***@gw.dev/v1?key=***  via"),
            "{text}"
        );
        assert!(
            text.contains("\"h\": \"https://gw.dev?token=***\""),
            "{text}"
        );
        assert!(
            text.contains("  /bin/claude --settings '{\"k\":\"***\"}' -p 'say hi'"),
            "{text}"
        );
        assert!(
            text.contains("  TOKENS='a: ***'\n  NO_PROXY=127.0.0.1,localhost\n  unset GONE"),
            "{text}"
        );
        assert!(
            text.contains("File /run/headroom/wrap-RUN/f.json:\n***"),
            "{text}"
        );
        let json = plan.to_json();
        assert!(!json.to_string().contains("secret"), "{json}");
        assert_eq!(json["command"][3], "-p");
        assert_eq!(json["env"]["TOKENS"], "a: ***");
        assert_eq!(json["env"]["NO_PROXY"], "127.0.0.1,localhost");
        assert_eq!(json["files"][0]["path"], "/run/headroom/wrap-RUN/f.json");
        assert_eq!(json["routed"][0]["id"], "anthropic");
        assert_eq!(
            json["routed"][0]["upstream"],
            "https://u:***@gw.dev/v1?key=***"
        );
        assert_eq!(json["overlay"]["h"], "https://gw.dev?token=***");
    }
}
