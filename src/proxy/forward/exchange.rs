//! The record of one forwarded request: what it asked, where it went, how
//! it ended; logged as one line and added to the stats once, at its end.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{request, Method, Response, Uri};
use http_body_util::Full;
use tokio::time::Instant;

use super::stages::{Done, Findings, OnAnswer, RequestFound, ToolTokens};
use super::Shared;
use crate::proxy::clock;
use crate::proxy::error::ProxyError;
use crate::proxy::routes::{self, Family};
use crate::proxy::spares::keep_spare;
use crate::proxy::stats::{self, Outcome, Sample};
use crate::proxy::upstream::Upstream;

/// Origin recorded for requests refused before an upstream was known.
const NO_UPSTREAM: &str = "(none)";

/// The record of one forwarded request, closed once when its response ends.
pub(crate) struct Exchange {
    pub(super) shared: Arc<Shared>,
    /// `None` when the request was refused before an upstream was known.
    pub(super) upstream: Option<Arc<Upstream>>,
    /// The provider `X-Headroom-Provider` named, when it did.
    pub(super) provider: Option<Box<str>>,
    /// What the request's watch found, when one watched its body.
    pub(super) request_found: Option<RequestFound>,
    /// The tool-output tokens the request stage counted, if it ran.
    pub(super) tool_tokens: Option<ToolTokens>,
    /// The request stage's ear for the answer's usage, if it wants it.
    pub(super) on_answer: Option<OnAnswer>,
    pub(super) family: Family,
    /// The LLM API a POST calls, read from its path once for every stage.
    pub(super) api: Option<crate::usage::Family>,
    pub(super) method: Method,
    /// The client's request target; only its path is ever logged.
    pub(super) uri: Uri,
    pub(super) status: u16,
    pub(super) started: Instant,
    pub(super) head_latency: Duration,
    pub(super) stripped_headers: usize,
    pub(super) bytes_in: Arc<AtomicU64>,
}

impl Exchange {
    /// Starts the record as the request arrives; its target moves here
    /// from `parts` (the outgoing request gets the upstream's).
    pub(super) fn begin(shared: Arc<Shared>, parts: &mut request::Parts) -> Exchange {
        Exchange {
            shared,
            upstream: None,
            provider: None,
            request_found: None,
            tool_tokens: None,
            on_answer: None,
            family: routes::classify(parts.uri.path()),
            api: crate::usage::Family::called_by(&parts.method, parts.uri.path()),
            method: parts.method.clone(),
            uri: std::mem::take(&mut parts.uri),
            status: 0,
            started: clock::now(),
            head_latency: Duration::ZERO,
            stripped_headers: 0,
            bytes_in: byte_counter(),
        }
    }

    /// Closes the record of a request that got no answer, and gives the
    /// answer that says why.
    pub(super) fn fail(mut self, error: ProxyError) -> Response<Full<Bytes>> {
        let family = self.family;
        self.status = error.status.as_u16();
        self.head_latency = clock::since(self.started);
        self.finish(Outcome::Failed(error.class), 0, Findings::default());
        error.to_response(family)
    }

    fn origin(&self) -> &str {
        self.upstream
            .as_deref()
            .map_or(NO_UPSTREAM, Upstream::origin_str)
    }

    /// Closes the record of an exchange that became a tunnel, whose bytes
    /// each way count as its bodies'.
    pub fn finish_switched(self, outcome: Outcome, to_upstream: u64, to_client: u64) {
        self.bytes_in.fetch_add(to_upstream, Ordering::Relaxed);
        self.finish(outcome, to_client, Findings::default());
    }

    /// Logs the request's one line, with what its response's watch found,
    /// and adds it to the stats. The path is logged without its query,
    /// which may hold a `key=` secret; a figure nobody reported is absent.
    pub fn finish(mut self, outcome: Outcome, bytes_out: u64, mut findings: Findings) {
        let bytes_in = self.bytes_in.load(Ordering::Relaxed);
        // The response's model, else the request's: an error names none.
        let request_model = self
            .request_found
            .as_ref()
            .and_then(|found| found.get())
            .and_then(|found| found.model.as_deref());
        if let Some(usage) = findings.usage.as_mut().filter(|u| u.model.is_none()) {
            usage.model = request_model.map(str::to_owned);
        }
        let usage = findings.usage.as_ref();
        if let (Some(on_answer), Some(usage)) = (self.on_answer.take(), usage) {
            on_answer.answered(usage);
        }
        let model = usage
            .and_then(|usage| usage.model.as_deref())
            .or(request_model);
        let duration = clock::since(self.started);
        let outcome_name = match outcome {
            Outcome::Completed => "completed",
            Outcome::Failed(class) => class,
        };
        tracing::info!(
            target: "headroom::request",
            method = %self.method,
            path = self.uri.path(),
            upstream = self.origin(),
            family = self.family.as_str(),
            status = self.status,
            outcome = outcome_name,
            bytes_in,
            bytes_out,
            duration_ms = stats::micros_in_ms(stats::whole_micros(duration)),
            stripped_headers = self.stripped_headers,
            model,
            input_tokens = usage.and_then(|usage| usage.input_tokens),
            cache_read_tokens = usage.and_then(|usage| usage.cache_read_tokens),
            cache_write_tokens = usage.and_then(|usage| usage.cache_write_tokens),
            output_tokens = usage.and_then(|usage| usage.output_tokens),
            reasoning_tokens = usage.and_then(|usage| usage.reasoning_tokens),
            tool_tokens_before = self.tool_tokens.map(|tokens| tokens.before),
            tool_tokens_after = self.tool_tokens.map(|tokens| tokens.after),
        );
        self.shared.stages.record(&Done {
            method: &self.method,
            path: self.uri.path(),
            api: self.api,
            origin: self.origin(),
            provider: self.provider.as_deref(),
            model,
            family: self.family,
            status: self.status,
            outcome,
            duration,
            usage,
            tool_tokens: self.tool_tokens,
        });
        self.shared.stats.record(Sample {
            origin: self.origin(),
            family: self.family,
            status: self.status,
            outcome,
            bytes_in,
            bytes_out,
            latency: self.head_latency,
            duration,
            usage,
            tool_tokens: self.tool_tokens,
        });
        keep_byte_counter(self.bytes_in);
    }
}

/// Counts a request head refused before it became a request: in the
/// stats, as a failure with no upstream, but not in the log's request
/// lines or the ledger, which have no method or path to name.
pub(super) fn count_refused_head(stats: &stats::Stats, error: &ProxyError, family: Family) {
    stats.record(Sample {
        origin: NO_UPSTREAM,
        family,
        status: error.status.as_u16(),
        outcome: Outcome::Failed(error.class),
        bytes_in: 0,
        bytes_out: 0,
        latency: Duration::ZERO,
        duration: Duration::ZERO,
        usage: None,
        tool_tokens: None,
    });
}

thread_local! {
    /// Byte counters of exchanges done with, for the next ones: a counter
    /// is shared with the request body, so it is an allocation of its own.
    static SPARE_COUNTERS: RefCell<Vec<Arc<AtomicU64>>> = const { RefCell::new(Vec::new()) };
}

/// A counter at zero, a spare one when there is one.
fn byte_counter() -> Arc<AtomicU64> {
    SPARE_COUNTERS.with_borrow_mut(Vec::pop).unwrap_or_default()
}

/// Keeps `counter` for another exchange once nothing else holds it (the
/// request body that counted into it is gone).
fn keep_byte_counter(mut counter: Arc<AtomicU64>) {
    if let Some(count) = Arc::get_mut(&mut counter) {
        *count.get_mut() = 0;
        keep_spare(&SPARE_COUNTERS, counter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_counter_is_used_again_at_zero_once_nothing_else_holds_it() {
        SPARE_COUNTERS.with_borrow_mut(Vec::clear);
        let counter = byte_counter();
        counter.fetch_add(7, Ordering::Relaxed);
        let body_side = counter.clone();
        keep_byte_counter(counter);
        assert_eq!(SPARE_COUNTERS.with_borrow(Vec::len), 0, "kept while shared");
        drop(body_side);
        let counter = byte_counter();
        counter.fetch_add(7, Ordering::Relaxed);
        keep_byte_counter(counter);
        assert_eq!(SPARE_COUNTERS.with_borrow(Vec::len), 1);
        assert_eq!(byte_counter().load(Ordering::Relaxed), 0);
        assert_eq!(SPARE_COUNTERS.with_borrow(Vec::len), 0);
    }
}
