//! Counters per upstream origin and API family, and tokens per model,
//! served at `/stats`, and as Prometheus metrics at `/metrics`. Only
//! origins, families, model names and numbers are kept: never paths,
//! queries or header values.

mod durations;
mod models;
mod prometheus;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::lock::lock;
use super::routes::Family;
use crate::usage::Usage;
use durations::Durations;
use models::Models;
pub use models::{ModelSnapshot, TokenCounts, OTHER_MODELS, UNKNOWN_MODEL};
pub use prometheus::CONTENT_TYPE as METRICS_CONTENT_TYPE;

/// How many recent latencies each entry keeps for its percentiles.
const LATENCY_WINDOW: usize = 1024;

/// How one forwarded request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The exchange completed; the status may still be an upstream error.
    Completed,
    /// headroom or the exchange failed; the class names why.
    Failed(&'static str),
}

/// Tokens of a request's tool outputs as the client sent them and as they
/// were sent upstream.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ToolTokens {
    pub before: u64,
    pub after: u64,
    /// The request may have changed bytes the provider's cache held:
    /// aggressive mode sent as stubs outputs its conversation's answered
    /// requests had sent whole, or the proxy met the conversation midway
    /// and rewrote outputs an earlier request held. What it saved is then
    /// not priced from its tokens alone.
    pub may_rewrite_cache: bool,
}

/// What one request adds to the counters.
pub struct Sample<'a> {
    pub origin: &'a str,
    pub family: Family,
    pub status: u16,
    pub outcome: Outcome,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Time until the response head (or the error) was ready.
    pub latency: Duration,
    /// Time until the exchange ended.
    pub duration: Duration,
    /// The usage its response reported, when it was read.
    pub usage: Option<&'a Usage>,
    /// Its tool-output tokens, when the request stage counted them.
    pub tool_tokens: Option<ToolTokens>,
}

/// Origins counted apart; later ones are counted together.
const MAX_ORIGINS: usize = 256;
/// The entry of the origins past `MAX_ORIGINS`.
pub const OTHER_ORIGINS: &str = "(other)";

pub struct Stats {
    started: Instant,
    /// Per origin, one entry per family (indexed by `Family::index`), so a
    /// request finds its entry by `&str` without allocating. Ordered, not
    /// hashed: for a handful of origins comparing beats hashing.
    entries: Mutex<BTreeMap<String, [Entry; 3]>>,
    /// Locked only for a response whose usage was read.
    models: Mutex<Models>,
    compression: Compression,
}

/// What the request stage counted, over every request it read.
#[derive(Default)]
struct Compression {
    requests: AtomicU64,
    tool_tokens_before: AtomicU64,
    tool_tokens_after: AtomicU64,
}

/// The tool-output tokens of the requests the request stage read, as the
/// clients sent them and as they went upstream.
#[derive(Debug, Serialize, PartialEq, Default)]
pub struct CompressionSnapshot {
    pub requests: u64,
    pub tool_tokens_before: u64,
    pub tool_tokens_after: u64,
}

#[derive(Default)]
struct Entry {
    requests: u64,
    /// Requests by status class: index 1 for 1xx to 5 for 5xx, 0 for
    /// any other status (none was sent).
    by_status_class: [u64; 6],
    errors: BTreeMap<&'static str, u64>,
    bytes_in: u64,
    bytes_out: u64,
    latencies_us: Vec<u64>,
    next_latency: usize,
    durations: Durations,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Snapshot {
    pub uptime_seconds: u64,
    pub upstreams: Vec<UpstreamSnapshot>,
    pub models: Vec<ModelSnapshot>,
    pub compression: CompressionSnapshot,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct UpstreamSnapshot {
    pub origin: String,
    pub family: Family,
    pub requests: u64,
    pub errors: BTreeMap<&'static str, u64>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub latency_ms: Latency,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            entries: Mutex::new(BTreeMap::new()),
            models: Mutex::default(),
            compression: Compression::default(),
        }
    }
}

impl Stats {
    pub fn record(&self, sample: Sample<'_>) {
        let class = match sample.outcome {
            Outcome::Failed(class) => Some(class),
            Outcome::Completed if sample.status >= 500 => Some("upstream_5xx"),
            Outcome::Completed if sample.status >= 400 => Some("upstream_4xx"),
            Outcome::Completed => None,
        };
        let latency_us = whole_micros(sample.latency);
        if let Some(usage) = sample.usage {
            lock(&self.models).add(usage);
        }
        if let Some(tokens) = sample.tool_tokens {
            let counted = &self.compression;
            counted.requests.fetch_add(1, Ordering::Relaxed);
            counted
                .tool_tokens_before
                .fetch_add(tokens.before, Ordering::Relaxed);
            counted
                .tool_tokens_after
                .fetch_add(tokens.after, Ordering::Relaxed);
        }
        let family = sample.family.index();
        let mut entries = lock(&self.entries);
        // Looked up by &str: only an origin's first request allocates.
        match entries.get_mut(sample.origin) {
            Some(families) => families[family].add(&sample, class, latency_us),
            None => {
                // Clients name the upstreams of a standalone proxy: past a
                // bound, new ones share one entry, so memory stays bounded.
                let origin = if entries.len() < MAX_ORIGINS {
                    sample.origin
                } else {
                    OTHER_ORIGINS
                };
                let families = entries.entry(origin.to_owned()).or_default();
                families[family].add(&sample, class, latency_us);
            }
        }
    }

    /// The counters in the Prometheus text exposition format.
    pub fn metrics(&self) -> String {
        prometheus::render(self)
    }

    pub fn snapshot(&self) -> Snapshot {
        let entries = lock(&self.entries);
        let mut upstreams: Vec<UpstreamSnapshot> = entries
            .iter()
            .flat_map(|(origin, families)| {
                Family::ALL
                    .into_iter()
                    .map(move |family| (origin, family, &families[family.index()]))
            })
            .filter(|(_, _, entry)| entry.requests > 0)
            .map(|(origin, family, entry)| UpstreamSnapshot {
                origin: origin.clone(),
                family,
                requests: entry.requests,
                errors: entry.errors.clone(),
                bytes_in: entry.bytes_in,
                bytes_out: entry.bytes_out,
                latency_ms: entry.latency(),
            })
            .collect();
        upstreams.sort_by(|a, b| (&a.origin, a.family).cmp(&(&b.origin, b.family)));
        drop(entries);
        Snapshot {
            uptime_seconds: self.started.elapsed().as_secs(),
            upstreams,
            models: lock(&self.models).snapshot(),
            compression: self.compression.snapshot(),
        }
    }
}

impl Compression {
    fn snapshot(&self) -> CompressionSnapshot {
        CompressionSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            tool_tokens_before: self.tool_tokens_before.load(Ordering::Relaxed),
            tool_tokens_after: self.tool_tokens_after.load(Ordering::Relaxed),
        }
    }
}

impl Entry {
    fn add(&mut self, sample: &Sample<'_>, error_class: Option<&'static str>, latency_us: u64) {
        self.requests += 1;
        let status_class = usize::from(sample.status / 100);
        self.by_status_class[if status_class < 6 { status_class } else { 0 }] += 1;
        self.durations.add(whole_micros(sample.duration));
        if let Some(class) = error_class {
            *self.errors.entry(class).or_default() += 1;
        }
        self.bytes_in += sample.bytes_in;
        self.bytes_out += sample.bytes_out;
        self.push_latency(latency_us);
    }

    fn push_latency(&mut self, micros: u64) {
        if self.latencies_us.len() < LATENCY_WINDOW {
            self.latencies_us.push(micros);
        } else {
            self.latencies_us[self.next_latency] = micros;
        }
        self.next_latency = (self.next_latency + 1) % LATENCY_WINDOW;
    }

    fn latency(&self) -> Latency {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        Latency {
            p50: percentile_ms(&sorted, 50),
            p99: percentile_ms(&sorted, 99),
        }
    }
}

/// Nearest-rank percentile of sorted microseconds, in milliseconds.
fn percentile_ms(sorted_us: &[u64], pct: usize) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (pct * sorted_us.len()).div_ceil(100).max(1);
    micros_in_ms(sorted_us[rank - 1])
}

/// `elapsed` in whole microseconds, the finest a time is kept or shown.
pub(crate) fn whole_micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

/// Microseconds as milliseconds, as /stats and the request log show a
/// time: `37.701`, not the float noise of `37.700883999999995`.
pub(crate) fn micros_in_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(origin: &str, status: u16, outcome: Outcome, ms: u64) -> Sample<'_> {
        Sample {
            origin,
            family: Family::OpenAi,
            status,
            outcome,
            bytes_in: 10,
            bytes_out: 100,
            latency: Duration::from_millis(ms),
            duration: Duration::from_millis(ms * 2),
            usage: None,
            tool_tokens: None,
        }
    }

    #[test]
    fn a_shown_time_stops_at_the_microsecond() {
        let shown = |nanos| micros_in_ms(whole_micros(Duration::from_nanos(nanos))).to_string();
        assert_eq!(shown(37_700_884), "37.7");
        assert_eq!(shown(37_701_999), "37.701");
        assert_eq!(shown(415_238), "0.415");
        assert_eq!(shown(999), "0");
    }

    #[test]
    fn origins_past_the_bound_are_counted_together() {
        let stats = Stats::default();
        let origins: Vec<String> = (0..MAX_ORIGINS + 10)
            .map(|n| format!("https://{n}.example"))
            .collect();
        for origin in &origins {
            stats.record(sample(origin, 200, Outcome::Completed, 1));
        }
        stats.record(sample(&origins[0], 200, Outcome::Completed, 1));
        let upstreams = stats.snapshot().upstreams;
        assert_eq!(upstreams.len(), MAX_ORIGINS + 1);
        let requests = |origin: &str| {
            upstreams
                .iter()
                .find(|upstream| upstream.origin == origin)
                .map(|upstream| upstream.requests)
        };
        assert_eq!(requests(OTHER_ORIGINS), Some(10));
        assert_eq!(requests(&origins[0]), Some(2));
        assert_eq!(requests(&origins[MAX_ORIGINS]), None);
    }

    #[test]
    fn counts_per_origin_with_error_classes_and_percentiles() {
        let stats = Stats::default();
        for ms in 1..=100 {
            stats.record(sample("https://a.dev", 200, Outcome::Completed, ms));
        }
        stats.record(sample("https://a.dev", 503, Outcome::Completed, 1));
        stats.record(sample(
            "https://b.dev",
            502,
            Outcome::Failed("upstream_connect"),
            1,
        ));
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.upstreams.len(), 2);
        let a = &snapshot.upstreams[0];
        assert_eq!((a.origin.as_str(), a.requests), ("https://a.dev", 101));
        assert_eq!(a.errors.get("upstream_5xx"), Some(&1));
        assert_eq!((a.bytes_in, a.bytes_out), (1010, 10100));
        assert_eq!(a.latency_ms.p50, 50.0);
        assert_eq!(a.latency_ms.p99, 99.0);
        assert_eq!(
            snapshot.upstreams[1].errors.get("upstream_connect"),
            Some(&1)
        );
    }

    #[test]
    fn latency_window_is_bounded() {
        let mut entry = Entry::default();
        for micros in 0..(LATENCY_WINDOW as u64 * 3) {
            entry.push_latency(micros);
        }
        assert_eq!(entry.latencies_us.len(), LATENCY_WINDOW);
    }
}
