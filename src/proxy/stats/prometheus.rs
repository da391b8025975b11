//! The counters in the Prometheus text exposition format (version 0.0.4),
//! for `GET /metrics`. Labels take few values: API families, status
//! classes, error classes, and model names, which the per-model counters
//! already cap (past the cap, `(other)`).

use std::collections::BTreeMap;
use std::fmt::{Display, Write as _};

use super::durations::{Durations, BOUNDS};
use super::{lock, Family, Stats};

/// The `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How a status class is labelled, by `Entry::by_status_class` index.
const STATUS_CLASSES: [&str; 6] = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"];

/// One family's counters, summed over its upstreams.
#[derive(Default)]
struct FamilyTotals {
    by_status_class: [u64; 6],
    bytes_in: u64,
    bytes_out: u64,
    durations: Durations,
}

pub(super) fn render(stats: &Stats) -> String {
    let (families, errors) = totals(stats);
    let models = lock(&stats.models).snapshot();
    let mut out = Metrics(String::with_capacity(4096));

    out.family(
        "headroom_requests_total",
        "counter",
        "Requests forwarded, by API family and status class (none: no status was sent).",
    );
    for (family, totals) in &families {
        for (class, count) in STATUS_CLASSES.iter().zip(totals.by_status_class) {
            if count > 0 {
                let labels = [("family", family.as_str()), ("status", class)];
                out.sample("headroom_requests_total", &labels, count);
            }
        }
    }
    out.family(
        "headroom_errors_total",
        "counter",
        "Requests that failed, by class (upstream_4xx and upstream_5xx are the upstream's own answers).",
    );
    for (class, count) in &errors {
        out.sample("headroom_errors_total", &[("class", class)], count);
    }
    bytes(&mut out, &families);
    tokens(&mut out, &models);
    tool_tokens(&mut out, stats);
    durations(&mut out, &families);
    out.family(
        "headroom_uptime_seconds",
        "gauge",
        "Seconds since the proxy started.",
    );
    out.sample(
        "headroom_uptime_seconds",
        &[],
        stats.started.elapsed().as_secs(),
    );
    out.0
}

/// The tool-output tokens the request stage counted, before and after.
fn tool_tokens(out: &mut Metrics, stats: &Stats) {
    let counted = stats.compression.snapshot();
    out.family(
        "headroom_tool_output_tokens_total",
        "counter",
        "Tokens of the tool outputs in the requests the compression stage read, as sent by clients (before) and upstream (after).",
    );
    for (when, count) in [
        ("before", counted.tool_tokens_before),
        ("after", counted.tool_tokens_after),
    ] {
        out.sample(
            "headroom_tool_output_tokens_total",
            &[("when", when)],
            count,
        );
    }
}

/// Per family, the sums over every upstream; and the errors by class.
fn totals(stats: &Stats) -> (Vec<(Family, FamilyTotals)>, BTreeMap<&'static str, u64>) {
    let mut families: Vec<(Family, FamilyTotals)> = Family::ALL
        .into_iter()
        .map(|family| (family, FamilyTotals::default()))
        .collect();
    let mut errors = BTreeMap::new();
    for entries in lock(&stats.entries).values() {
        for ((_, totals), entry) in families.iter_mut().zip(entries) {
            for (total, count) in totals.by_status_class.iter_mut().zip(entry.by_status_class) {
                *total += count;
            }
            totals.bytes_in += entry.bytes_in;
            totals.bytes_out += entry.bytes_out;
            totals.durations.merge(&entry.durations);
            for (class, count) in &entry.errors {
                *errors.entry(*class).or_default() += count;
            }
        }
    }
    families.retain(|(_, totals)| totals.durations.count() > 0);
    (families, errors)
}

fn bytes(out: &mut Metrics, families: &[(Family, FamilyTotals)]) {
    for (name, help, pick) in [
        (
            "headroom_request_bytes_total",
            "Request body bytes read from clients, by API family.",
            (|t: &FamilyTotals| t.bytes_in) as fn(&FamilyTotals) -> u64,
        ),
        (
            "headroom_response_bytes_total",
            "Response body bytes sent to clients, by API family.",
            |t: &FamilyTotals| t.bytes_out,
        ),
    ] {
        out.family(name, "counter", help);
        for (family, totals) in families {
            out.sample(name, &[("family", family.as_str())], pick(totals));
        }
    }
}

fn tokens(out: &mut Metrics, models: &[super::ModelSnapshot]) {
    const NAME: &str = "headroom_tokens_total";
    out.family(
        NAME,
        "counter",
        "Tokens the providers reported, by model and kind (input counts cached tokens too; output counts reasoning too).",
    );
    for model in models {
        let counts = &model.counts;
        for (kind, count) in [
            ("input", counts.input_tokens),
            ("cache_read", counts.cache_read_tokens),
            ("cache_write", counts.cache_write_tokens),
            ("output", counts.output_tokens),
            ("reasoning", counts.reasoning_tokens),
        ] {
            out.sample(NAME, &[("model", &model.model), ("kind", kind)], count);
        }
    }
}

fn durations(out: &mut Metrics, families: &[(Family, FamilyTotals)]) {
    const NAME: &str = "headroom_request_duration_seconds";
    out.family(
        NAME,
        "histogram",
        "Time from a request's arrival to the end of its response, by API family.",
    );
    for (family, totals) in families {
        let family = family.as_str();
        let durations = &totals.durations;
        let mut cumulative = 0;
        for ((_, le), count) in BOUNDS.iter().zip(durations.counts) {
            cumulative += count;
            let labels = [("family", family), ("le", le)];
            out.sample(&format!("{NAME}_bucket"), &labels, cumulative);
        }
        let labels = [("family", family), ("le", "+Inf")];
        out.sample(&format!("{NAME}_bucket"), &labels, durations.count());
        let seconds = durations.sum_us as f64 / 1e6;
        out.sample(&format!("{NAME}_sum"), &[("family", family)], seconds);
        out.sample(
            &format!("{NAME}_count"),
            &[("family", family)],
            durations.count(),
        );
    }
}

/// The text being written.
struct Metrics(String);

impl Metrics {
    /// A metric family's HELP and TYPE lines.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{label}=\"");
                escape_into(&mut self.0, text);
                self.0.push('"');
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// A label value as the format writes it: backslash, double quote and
/// line feed escaped.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests;
