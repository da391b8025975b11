//! The recorder: turns each finished exchange on an LLM route into one
//! ledger row, and under `wrap` adds it to the run's tally for the exit
//! summary. It joins the proxy's seam to the ledger, so that neither knows
//! the other. Without a tally the cost is filled in by the ledger's writer
//! thread, off the request path.

mod tally;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ledger::{self, Ledger, Row};
use crate::proxy::stages::{Done, Recorder, Stages};
use crate::proxy::stats::Outcome;
use crate::tap;
use crate::usage::Usage;
pub use tally::{RunTally, TallyLine};

/// How long shutdown waits for the last rows to be written.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// The ledger at its default path; `None` with `--no-ledger`, or when
/// there is no home to keep it in (said in the log).
pub fn open_ledger(no_ledger: bool) -> Option<Ledger> {
    if no_ledger {
        return None;
    }
    let Some(path) = ledger::default_path() else {
        tracing::warn!(
            "usage ledger off: neither XDG_STATE_HOME (an absolute path) nor HOME is set"
        );
        return None;
    };
    Some(Ledger::open(&path))
}

/// Provider ids (joined with `,` when an origin serves several) by the
/// origin the proxy records for them. `wrap` sets them once it knows which
/// providers it routed, which takes the proxy's address, before its agent
/// can send a request; `proxy` leaves them unset.
pub type ProviderIds = Arc<OnceLock<BTreeMap<String, String>>>;

/// The stages `headroom proxy` and `headroom wrap` run: the usage tap,
/// and a recorder into `ledger` and `tally` when there is either.
pub fn stages(
    ledger: Option<&Ledger>,
    tally: Option<Arc<RunTally>>,
    agent: &'static str,
    providers: ProviderIds,
) -> Stages {
    let stages = tap::default_stages();
    if ledger.is_none() && tally.is_none() {
        return stages;
    }
    stages.with_recorder(Arc::new(LedgerRecorder {
        ledger: ledger.cloned(),
        tally,
        agent,
        run_id: run_id(),
        providers,
    }))
}

/// Waits a short while for the rows still queued, so the last requests
/// of a run land.
pub fn flush(ledger: Option<&Ledger>) {
    if let Some(ledger) = ledger {
        if !ledger.flush(FLUSH_TIMEOUT) {
            tracing::warn!("usage ledger: the last rows were not written in time");
        }
    }
}

/// Who is recording: the agent name, the run, and which providers each
/// upstream origin serves; and where the rows go.
pub struct LedgerRecorder {
    ledger: Option<Ledger>,
    tally: Option<Arc<RunTally>>,
    agent: &'static str,
    run_id: Arc<str>,
    providers: ProviderIds,
}

impl LedgerRecorder {
    pub fn new(ledger: Ledger, agent: &'static str, providers: ProviderIds) -> LedgerRecorder {
        LedgerRecorder {
            ledger: Some(ledger),
            tally: None,
            agent,
            run_id: run_id(),
            providers,
        }
    }
}

impl Recorder for LedgerRecorder {
    fn record(&self, done: &Done<'_>) {
        // Errors count as requests too, their usage unknown; anything but
        // an LLM call (model lists, health checks) is not a request to bill.
        let Some(family) = done.api else {
            return;
        };
        let duration_ms = u64::try_from(done.duration.as_millis()).unwrap_or(u64::MAX);
        let model = done.model.map(str::to_owned);
        let usage = match done.usage {
            Some(usage) => usage.with_model(model),
            None => Usage {
                model,
                ..Usage::default()
            },
        };
        let mut row = Row {
            time_ms: unix_ms().saturating_sub(i64::try_from(duration_ms).unwrap_or(i64::MAX)),
            agent: self.agent,
            run_id: self.run_id.clone(),
            provider: self.provider(done),
            upstream_origin: done.origin.to_string(),
            family: Some(family),
            status: done.status,
            duration_ms,
            usage,
            cost_usd: None,
            tool_tokens: done.tool_tokens,
            saved_usd: None,
        };
        if let Some(tally) = &self.tally {
            // The summary prices the row now; the ledger then keeps its cost.
            let failed = done.outcome != Outcome::Completed || done.status >= 400;
            tally.add(&mut row, failed);
        }
        if let Some(ledger) = &self.ledger {
            ledger.record(row);
        }
    }
}

impl LedgerRecorder {
    /// The provider the request named, else those `wrap` routed to its
    /// origin.
    fn provider(&self, done: &Done<'_>) -> Option<String> {
        match done.provider {
            Some(id) => Some(id.to_string()),
            None => self.providers.get()?.get(done.origin).cloned(),
        }
    }
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// One per process (a `wrap` run or a `proxy`): its start time and pid,
/// so runs sort by time and two started in one millisecond still differ.
fn run_id() -> Arc<str> {
    format!("{}-{}", unix_ms(), std::process::id()).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::proxy::routes;
    use crate::proxy::stats::Outcome;
    use crate::usage::Usage;
    use std::time::Duration;

    fn done<'a>(method: &'a http::Method, path: &'a str, usage: Option<&'a Usage>) -> Done<'a> {
        Done {
            method,
            path,
            api: crate::usage::Family::called_by(method, path),
            origin: "https://api.groq.com",
            provider: None,
            model: usage.and_then(|usage| usage.model.as_deref()),
            family: routes::classify(path),
            status: 200,
            outcome: Outcome::Completed,
            duration: Duration::from_millis(30),
            usage,
            tool_tokens: None,
        }
    }

    #[test]
    fn only_posts_to_llm_routes_become_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        let ledger = Ledger::open(&path);
        let ids = BTreeMap::from([("https://api.groq.com".into(), "groq,fast".into())]);
        let providers = Arc::new(OnceLock::from(ids));
        let recorder = LedgerRecorder::new(ledger.clone(), "opencode", providers);
        let usage = Usage {
            model: Some("m".into()),
            input_tokens: Some(3),
            ..Usage::default()
        };
        recorder.record(&done(&http::Method::GET, "/v1/models", None));
        recorder.record(&done(&http::Method::GET, "/v1/chat/completions", None));
        recorder.record(&done(
            &http::Method::POST,
            "/v1/chat/completions",
            Some(&usage),
        ));
        recorder.record(&done(&http::Method::POST, "/v1/messages", None));
        assert!(ledger.flush(Duration::from_secs(5)));
        let connection = crate::ledger::open_for_reading(&path).unwrap().unwrap();
        let rows: Vec<(String, String, Option<String>, Option<i64>)> = connection
            .prepare("SELECT agent, provider, model, input_tokens FROM requests ORDER BY id")
            .unwrap()
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (
                    "opencode".into(),
                    "groq,fast".into(),
                    Some("m".into()),
                    Some(3)
                ),
                ("opencode".into(), "groq,fast".into(), None, None),
            ]
        );
    }

    #[test]
    fn a_named_provider_wins_and_an_error_keeps_the_requests_model_in_the_tally() {
        let ids = BTreeMap::from([("https://api.groq.com".into(), "groq,fast".into())]);
        let tally = Arc::new(RunTally::default());
        let stages_for_test = LedgerRecorder {
            ledger: None,
            tally: Some(tally.clone()),
            agent: "opencode",
            run_id: run_id(),
            providers: Arc::new(OnceLock::from(ids)),
        };
        let usage = Usage {
            model: Some("gpt-4o-mini".into()),
            input_tokens: Some(1_000_000),
            output_tokens: Some(0),
            ..Usage::default()
        };
        let post = http::Method::POST;
        let mut named = done(&post, "/v1/chat/completions", Some(&usage));
        named.provider = Some("fast");
        stages_for_test.record(&named);
        let mut refused = done(&post, "/v1/chat/completions", None);
        refused.model = Some("asked");
        refused.status = 401;
        stages_for_test.record(&refused);
        let lines = tally.lines();
        let keys: Vec<(Option<&str>, Option<&str>)> = lines
            .iter()
            .map(|line| (line.provider.as_deref(), line.model.as_deref()))
            .collect();
        assert_eq!(
            keys,
            [
                (Some("fast"), Some("gpt-4o-mini")),
                (Some("groq,fast"), Some("asked"))
            ]
        );
        let priced = crate::usage::prices::cost("gpt-4o-mini", Some("fast"), &usage);
        assert!(priced.is_some_and(|cost| cost > 0.0), "{priced:?}");
        assert_eq!(lines[0].cost_usd, priced);
        assert_eq!((lines[1].requests, lines[1].errors), (1, 1));
    }
}
