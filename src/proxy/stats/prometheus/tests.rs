use std::time::Duration;

use super::*;
use crate::proxy::stages::ToolTokens;
use crate::proxy::stats::{Outcome, Sample};
use crate::usage::Usage;

fn sample<'a>(
    family: Family,
    status: u16,
    outcome: Outcome,
    usage: Option<&'a Usage>,
) -> Sample<'a> {
    Sample {
        origin: "https://a.dev",
        family,
        status,
        outcome,
        bytes_in: 10,
        bytes_out: 100,
        latency: Duration::from_millis(1),
        duration: Duration::from_millis(30),
        usage,
        tool_tokens: None,
    }
}

/// The lines of `text` that start with `prefix`.
fn lines<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .collect()
}

#[test]
fn counts_by_family_status_class_and_error_class() {
    let stats = Stats::default();
    stats.record(sample(Family::OpenAi, 200, Outcome::Completed, None));
    stats.record(sample(Family::OpenAi, 200, Outcome::Completed, None));
    stats.record(sample(Family::OpenAi, 503, Outcome::Completed, None));
    stats.record(sample(
        Family::Anthropic,
        502,
        Outcome::Failed("upstream_connect"),
        None,
    ));
    let text = stats.metrics();
    assert_eq!(
        lines(&text, "headroom_requests_total{"),
        [
            r#"headroom_requests_total{family="openai",status="2xx"} 2"#,
            r#"headroom_requests_total{family="openai",status="5xx"} 1"#,
            r#"headroom_requests_total{family="anthropic",status="5xx"} 1"#,
        ]
    );
    assert_eq!(
        lines(&text, "headroom_errors_total{"),
        [
            r#"headroom_errors_total{class="upstream_5xx"} 1"#,
            r#"headroom_errors_total{class="upstream_connect"} 1"#,
        ]
    );
    assert_eq!(
        lines(&text, "headroom_response_bytes_total{"),
        [
            r#"headroom_response_bytes_total{family="openai"} 300"#,
            r#"headroom_response_bytes_total{family="anthropic"} 100"#,
        ]
    );
}

#[test]
fn the_histogram_is_cumulative_and_ends_with_inf_sum_and_count() {
    let stats = Stats::default();
    for ms in [1, 30, 30, 400_000] {
        let mut timed = sample(Family::Gemini, 200, Outcome::Completed, None);
        timed.duration = Duration::from_millis(ms);
        stats.record(timed);
    }
    let text = stats.metrics();
    let buckets = lines(&text, "headroom_request_duration_seconds_bucket{");
    assert_eq!(buckets.len(), BOUNDS.len() + 1);
    assert_eq!(
        buckets[0],
        r#"headroom_request_duration_seconds_bucket{family="gemini",le="0.005"} 1"#
    );
    assert_eq!(
        buckets[3],
        r#"headroom_request_duration_seconds_bucket{family="gemini",le="0.05"} 3"#
    );
    assert_eq!(
        buckets[BOUNDS.len() - 1],
        r#"headroom_request_duration_seconds_bucket{family="gemini",le="300"} 3"#
    );
    assert_eq!(
        buckets[BOUNDS.len()],
        r#"headroom_request_duration_seconds_bucket{family="gemini",le="+Inf"} 4"#
    );
    assert_eq!(
        lines(&text, "headroom_request_duration_seconds_sum"),
        [r#"headroom_request_duration_seconds_sum{family="gemini"} 400.061"#]
    );
    assert_eq!(
        lines(&text, "headroom_request_duration_seconds_count"),
        [r#"headroom_request_duration_seconds_count{family="gemini"} 4"#]
    );
}

#[test]
fn tokens_by_model_and_kind_with_label_values_escaped() {
    let stats = Stats::default();
    let usage = Usage {
        model: Some("we\"ird\\name\nx".into()),
        input_tokens: Some(30),
        cache_read_tokens: Some(10),
        output_tokens: Some(7),
        complete: true,
        ..Usage::default()
    };
    stats.record(sample(
        Family::OpenAi,
        200,
        Outcome::Completed,
        Some(&usage),
    ));
    let text = stats.metrics();
    assert_eq!(
        lines(&text, "headroom_tokens_total{"),
        [
            r#"headroom_tokens_total{model="we\"ird\\name\nx",kind="input"} 30"#,
            r#"headroom_tokens_total{model="we\"ird\\name\nx",kind="cache_read"} 10"#,
            r#"headroom_tokens_total{model="we\"ird\\name\nx",kind="cache_write"} 0"#,
            r#"headroom_tokens_total{model="we\"ird\\name\nx",kind="output"} 7"#,
            r#"headroom_tokens_total{model="we\"ird\\name\nx",kind="reasoning"} 0"#,
        ]
    );
}

#[test]
fn every_family_has_help_and_one_type_even_with_no_traffic() {
    let text = Stats::default().metrics();
    let types = lines(&text, "# TYPE ");
    assert_eq!(
        types,
        [
            "# TYPE headroom_requests_total counter",
            "# TYPE headroom_errors_total counter",
            "# TYPE headroom_request_bytes_total counter",
            "# TYPE headroom_response_bytes_total counter",
            "# TYPE headroom_tokens_total counter",
            "# TYPE headroom_tool_output_tokens_total counter",
            "# TYPE headroom_request_duration_seconds histogram",
            "# TYPE headroom_uptime_seconds gauge",
        ]
    );
    assert_eq!(lines(&text, "# HELP ").len(), types.len());
    assert!(text.ends_with('\n'));
}

#[test]
fn tool_output_tokens_are_counted_before_and_after() {
    let stats = Stats::default();
    for (before, after) in [(1000, 400), (500, 500)] {
        let mut counted = sample(Family::OpenAi, 200, Outcome::Completed, None);
        counted.tool_tokens = Some(ToolTokens {
            before,
            after,
            may_rewrite_cache: false,
        });
        stats.record(counted);
    }
    stats.record(sample(Family::OpenAi, 200, Outcome::Completed, None));
    assert_eq!(
        lines(&stats.metrics(), "headroom_tool_output_tokens_total{"),
        [
            r#"headroom_tool_output_tokens_total{when="before"} 1500"#,
            r#"headroom_tool_output_tokens_total{when="after"} 900"#,
        ]
    );
}
