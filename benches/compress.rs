//! Replays every recorded session (`../shared/data/sessions`) through the
//! compression stage, in safe and in aggressive mode, and prints per
//! session and in total: raw prompt tokens before and after; a simulated
//! bill (each request's longest shared message prefix with the previous
//! turn is a cache read at 0.1x the input price, the rest a cache write at
//! 1.25x, as on Anthropic) before and after; prefix breaks headroom caused;
//! and the stage's time per request (p50, p99, max: the delay it adds before
//! the request is sent, the least of three replays) with its throughput,
//! and the p99 of the token counting the proxy does while the request is
//! upstream; and what the usage ledger would say compression saved at
//! least (`Row::price_at`, at the bill's rates, from each request's usage
//! as the simulated provider reports it), as a share of the simulated
//! saving: a share over 1 would be a claim the bill does not bear out.
//! Tokens are o200k. Nothing here fails a run.
//!
//! Run with `cargo bench --bench compress` (a minute or two).

#[path = "../tests/common/sessions.rs"]
mod sessions;

use std::path::Path;
use std::time::{Duration, Instant};

use headroom::compress::{Engine, Level, SpillDir};
use headroom::ledger::Row;
use headroom::proxy::stages::ToolTokens;
use headroom::usage::prices::{Price, Rates};
use headroom::usage::{Family, Usage};
use sessions::{shared_prefix, Session};
use tiktoken_rs::o200k_base_singleton;

const READ: f64 = 0.1;
const WRITE: f64 = 1.25;

#[derive(Default, Clone)]
struct Figures {
    tokens_before: u64,
    tokens_after: u64,
    bill_before: f64,
    bill_after: f64,
    /// The ledger's bound on the saving, in the bill's units.
    bound: f64,
    breaks: usize,
    requests: usize,
    bytes: usize,
    times: Vec<Duration>,
    counting: Vec<Duration>,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.tokens_before += other.tokens_before;
        self.tokens_after += other.tokens_after;
        self.bill_before += other.bill_before;
        self.bill_after += other.bill_after;
        self.bound += other.bound;
        self.breaks += other.breaks;
        self.requests += other.requests;
        self.bytes += other.bytes;
        self.times.extend(&other.times);
        self.counting.extend(&other.counting);
    }

    fn line(&self, name: &str) -> String {
        let times = sorted(&self.times);
        let at = |pct| percentile(&times, pct);
        let busy: f64 = times.iter().map(Duration::as_secs_f64).sum();
        format!(
            "{name:<46} {:>9} {:>9} {:>6.3}x {:>6.3}x {:>3} {:>7.3} {:>7.3} {:>7.3} {:>7.0} {:>7.3} {:>6.3}",
            self.tokens_before,
            self.tokens_after,
            self.tokens_after as f64 / self.tokens_before.max(1) as f64,
            self.bill_after / self.bill_before.max(1.0),
            self.breaks,
            at(50),
            at(99),
            times.last().map_or(0.0, |t| t.as_secs_f64() * 1e3),
            self.bytes as f64 / busy.max(1e-9) / 1e6,
            percentile(&sorted(&self.counting), 99),
            self.bound / (self.bill_before - self.bill_after),
        )
    }
}

fn sorted(times: &[Duration]) -> Vec<Duration> {
    let mut times = times.to_vec();
    times.sort();
    times
}

/// The `pct` percentile of sorted `times`, in milliseconds.
fn percentile(times: &[Duration], pct: usize) -> f64 {
    let rank = (pct * times.len()).div_ceil(100).max(1);
    times.get(rank - 1).map_or(0.0, |t| t.as_secs_f64() * 1e3)
}

fn tokens(text: &str) -> u64 {
    o200k_base_singleton().encode_ordinary(text).len() as u64
}

/// The usage a provider billing as the simulation does would report for
/// `body` after `previous` (the same conversation's last turn, as the
/// provider saw it): the shared prefix read from the cache, the rest
/// written to it.
fn usage(previous: Option<&str>, body: &str) -> Usage {
    let total = tokens(body);
    let read = previous.map_or(0, |previous| {
        let (_, end) = shared_prefix(previous, body);
        tokens(&body[..end])
    });
    Usage {
        input_tokens: Some(total),
        cache_read_tokens: Some(read),
        cache_write_tokens: Some(total - read),
        output_tokens: Some(0),
        complete: true,
        ..Usage::default()
    }
}

/// What `usage` cost, in input-token units.
fn bill(usage: &Usage) -> f64 {
    let read = usage.cache_read_tokens.unwrap_or(0) as f64;
    let written = usage.cache_write_tokens.unwrap_or(0) as f64;
    read * READ + written * WRITE
}

/// The bill's rates as a price: one unit a million input tokens.
fn bill_price() -> Price {
    Price {
        rates: Rates {
            input: 1.0,
            output: 0.0,
            cache_read: Some(READ),
            cache_write: Some(WRITE),
        },
        reasoning: None,
        above_200k: None,
        snapshot: None,
    }
}

/// What the ledger would keep as compression's saving on a request
/// that reported `usage`, in the bill's units.
fn ledger_bound(usage: Usage, tool_tokens: Option<ToolTokens>, price: &Price) -> f64 {
    let mut row = Row {
        time_ms: 0,
        agent: "bench",
        run_id: "bench".into(),
        provider: None,
        upstream_origin: String::new(),
        family: Some(Family::Anthropic),
        status: 200,
        duration_ms: 0,
        usage,
        cost_usd: None,
        tool_tokens,
        saved_usd: None,
    };
    row.price_at(price);
    row.saved_usd.unwrap_or(0.0) * 1e6
}

/// Replays of a session timed; each request's time is the least of them.
const TIMED_REPLAYS: usize = 3;

fn replay(session: &Session, level: Level, spill: &Path) -> Figures {
    let engine = Engine::new(SpillDir::new(spill.join("figures")));
    let price = bill_price();
    let mut figures = Figures::default();
    (figures.times, figures.counting) = timings(session, level, spill);
    let mut previous: Option<(&str, String)> = None;
    for request in &session.requests {
        let Some(family) = request.family() else {
            continue;
        };
        let body = request.body.as_str();
        figures.requests += 1;
        figures.bytes += body.len();
        let rewritten = engine.rewrite(body, family, level);
        let tool_tokens = rewritten.as_ref().map(|r| r.counts.count(body));
        let (sent, conversation) = match rewritten {
            Some(rewritten) => (rewritten.body, Some(rewritten.conversation)),
            None => (None, None),
        };
        let sent = sent.unwrap_or_else(|| body.to_owned());
        figures.tokens_before += tokens(body);
        figures.tokens_after += tokens(&sent);
        // Side requests (a title) have no tools: a conversation of their own.
        let is_turn = body.contains("\"tools\"");
        let earlier = previous.as_ref().filter(|_| is_turn);
        figures.bill_before += bill(&usage(earlier.map(|(client, _)| *client), body));
        let reported = usage(earlier.map(|(_, sent)| sent.as_str()), &sent);
        if let Some(conversation) = conversation {
            conversation.answered(reported.input_tokens, reported.cache_read_tokens);
        }
        figures.bill_after += bill(&reported);
        figures.bound += ledger_bound(reported, tool_tokens, &price);
        if let Some((client, ours)) = earlier {
            if shared_prefix(ours, &sent).0 < shared_prefix(client, body).0 {
                figures.breaks += 1;
            }
        }
        if is_turn {
            previous = Some((body, sent));
        }
    }
    figures
}

/// Each request's time in the stage (what it adds before the request is
/// sent) and in the counting the proxy does while the request is upstream:
/// the least of `TIMED_REPLAYS` replays, each with a fresh engine and spill
/// directory, so that a replay preempted by another process on a shared
/// machine does not count as the stage's own time.
fn timings(session: &Session, level: Level, spill: &Path) -> (Vec<Duration>, Vec<Duration>) {
    let mut stage: Vec<Duration> = Vec::new();
    let mut counting: Vec<Duration> = Vec::new();
    for run in 0..TIMED_REPLAYS {
        let engine = Engine::new(SpillDir::new(spill.join(format!("timed-{run}"))));
        let requests = session
            .requests
            .iter()
            .filter_map(|request| Some((request.body.as_str(), request.family()?)));
        for (index, (body, family)) in requests.enumerate() {
            let started = Instant::now();
            let rewritten = engine.rewrite(body, family, level);
            let in_stage = started.elapsed();
            let started = Instant::now();
            if let Some(rewritten) = rewritten {
                rewritten.counts.count(body);
            }
            let counted = started.elapsed();
            if run == 0 {
                stage.push(in_stage);
                counting.push(counted);
            } else {
                stage[index] = stage[index].min(in_stage);
                counting[index] = counting[index].min(counted);
            }
        }
    }
    (stage, counting)
}

fn main() {
    // Built before any timing: the stage builds it at start, off the path.
    let _ = o200k_base_singleton();
    let sessions = sessions::all();
    let spill_dir =
        std::env::temp_dir().join(format!("headroom-bench-spill-{}", std::process::id()));
    println!(
        "{} sessions, {} requests, {:.2} MB of request bodies; bill: shared prefix x{READ}, rest x{WRITE}",
        sessions.len(),
        sessions.iter().map(|s| s.requests.len()).sum::<usize>(),
        sessions.iter().flat_map(|s| &s.requests).map(|r| r.body.len()).sum::<usize>() as f64 / 1e6
    );
    for level in [Level::Safe, Level::Aggressive] {
        println!("\n--compress {}", level.as_str());
        println!(
            "{:<46} {:>9} {:>9} {:>7} {:>7} {:>3} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6}",
            "session",
            "tokens",
            "after",
            "tokens",
            "bill",
            "brk",
            "p50 ms",
            "p99 ms",
            "max ms",
            "MB/s",
            "cnt p99",
            "bound"
        );
        let mut opencode = Figures::default();
        let mut swe_agent = Figures::default();
        for session in &sessions {
            let figures = replay(session, level, &spill_dir);
            if session.swe_agent {
                swe_agent.add(&figures);
            } else {
                println!("{}", figures.line(&session.name));
                opencode.add(&figures);
            }
        }
        println!("{}", swe_agent.line("swe-agent trajectories (all)"));
        println!("{}", opencode.line("opencode sessions (total)"));
        let mut all = opencode.clone();
        all.add(&swe_agent);
        println!("{}", all.line("everything"));
    }
    let _ = std::fs::remove_dir_all(spill_dir);
}
