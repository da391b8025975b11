//! Load: many mixed requests at high concurrency through the real binary to
//! loopback mocks. Every response body is byte-identical to what the mock
//! sends directly, nothing fails, and afterwards the process's fds, threads
//! and memory are back near where they started.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::mock::MockUpstream;
use common::{client, percentile, request, scaled, send, ProxyProcess, TestClient};
use http_body_util::BodyExt;

/// CI defaults, before `HEADROOM_STRESS_SCALE`.
const REQUESTS: usize = 20_000;
const CONCURRENCY: usize = 64;

/// No single request may take longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What one request sends; its expected answer is fetched from the mock
/// directly.
struct Case {
    method: &'static str,
    path: &'static str,
    body: Bytes,
}

fn cases() -> Vec<Case> {
    let case = |method, path, body: &[u8]| Case {
        method,
        path,
        body: Bytes::copy_from_slice(body),
    };
    let upload: Vec<u8> = (0..4096u32).map(|i| b'a' + (i % 26) as u8).collect();
    vec![
        case(
            "POST",
            "/v1/chat/completions",
            br#"{"model":"m","stream":false}"#,
        ),
        case(
            "POST",
            "/v1/chat/completions",
            br#"{"model":"m","stream":true}"#,
        ),
        case("POST", "/v1/responses", br#"{"model":"m","stream":true}"#),
        case("POST", "/v1/messages", br#"{"model":"m"}"#),
        case("POST", "/v1/messages", br#"{"model":"m","stream":true}"#),
        case("POST", "/v1beta/models/g:generateContent", b"{}"),
        case(
            "POST",
            "/v1beta/models/g:streamGenerateContent?alt=sse",
            b"{}",
        ),
        case("GET", "/v1/models?limit=5", b""),
        case("POST", "/v1/echo", &upload),
        case("GET", "/v1/big?bytes=65536", b""),
        case("GET", "/v1/sse?events=4&gap_ms=0", b""),
    ]
}

/// Request `i` of the run: its case, and whether it names its upstream in
/// `X-Headroom-Upstream` (every other one) or relies on the default.
fn plan(i: usize, cases: usize) -> (usize, bool) {
    ((i / 2) % cases, i.is_multiple_of(2))
}

struct Load {
    client: TestClient,
    proxy: String,
    override_url: String,
    cases: Vec<Case>,
    expected: Vec<Bytes>,
}

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    errors: Vec<String>,
    bytes: usize,
}

impl Load {
    async fn one(&self, i: usize) -> Result<usize, String> {
        let (index, named) = plan(i, self.cases.len());
        let case = &self.cases[index];
        let upstream = [("X-Headroom-Upstream", self.override_url.as_str())];
        let headers: &[(&str, &str)] = if named { &upstream } else { &[] };
        let url = format!("{}{}", self.proxy, case.path);
        let exchange = async {
            let response = self
                .client
                .request(request(case.method, &url, headers, case.body.clone()))
                .await
                .map_err(|e| format!("request: {e}"))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| "timed out".to_string())??;
        if status != 200 {
            return Err(format!("status {status}"));
        }
        if body != self.expected[index] {
            return Err(format!(
                "body differs: {} bytes, expected {}",
                body.len(),
                self.expected[index].len()
            ));
        }
        Ok(body.len())
    }

    /// Requests `range` at `concurrency`, each worker taking the next index.
    async fn run(self: &Arc<Self>, range: std::ops::Range<usize>, concurrency: usize) -> Outcome {
        let next = Arc::new(AtomicUsize::new(range.start));
        let outcome = Arc::new(Mutex::new(Outcome::default()));
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let (load, next, outcome, end) =
                (self.clone(), next.clone(), outcome.clone(), range.end);
            workers.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        return;
                    }
                    let started = Instant::now();
                    let result = load.one(i).await;
                    let mut outcome = outcome.lock().unwrap();
                    outcome.latencies.push(started.elapsed());
                    match result {
                        Ok(n) => outcome.bytes += n,
                        Err(e) => outcome.errors.push(format!("request {i}: {e}")),
                    }
                }
            }));
        }
        for worker in workers {
            worker.await.expect("worker");
        }
        Arc::try_unwrap(outcome)
            .ok()
            .expect("workers done")
            .into_inner()
            .unwrap()
    }
}

/// Targets each mock should have seen for requests `0..n`.
fn expected_targets(
    n: usize,
    cases: &[Case],
) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let (mut defaults, mut named) = (BTreeMap::new(), BTreeMap::new());
    for i in 0..n {
        let (index, is_named) = plan(i, cases.len());
        let map = if is_named { &mut named } else { &mut defaults };
        *map.entry(cases[index].path.to_string()).or_insert(0) += 1;
    }
    (defaults, named)
}

fn seen_targets(mock: &MockUpstream, skip: usize) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for recorded in mock.requests().into_iter().skip(skip) {
        *seen.entry(recorded.target).or_insert(0) += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_mixed_requests_at_64_concurrent() {
    let total = scaled(REQUESTS);
    let concurrency = CONCURRENCY.min(total);
    let defaults = MockUpstream::start();
    let named = MockUpstream::start();
    let proxy = ProxyProcess::start(&[
        "--openai-upstream",
        &format!("{}/v1", defaults.url()),
        "--anthropic-upstream",
        &defaults.url(),
        "--gemini-upstream",
        &format!("{}/v1beta", defaults.url()),
        "--log-level",
        "warn",
    ]);

    // What each case answers when asked directly, without the proxy.
    let cases = cases();
    let direct = client();
    let mut expected = Vec::new();
    for case in &cases {
        let url = format!("{}{}", named.url(), case.path);
        let reply = send(&direct, request(case.method, &url, &[], case.body.clone())).await;
        assert_eq!(reply.status, 200, "{} {}", case.method, case.path);
        assert!(!reply.body.is_empty(), "{}", case.path);
        expected.push(reply.body);
    }
    drop(direct);
    let named_before = named.requests().len();
    let defaults_before = defaults.requests().len();

    let (fds_start, rss_start, threads_start) =
        (proxy.open_fds(), proxy.rss_kib(), proxy.threads());
    let load = Arc::new(Load {
        client: client(),
        proxy: proxy.url(""),
        override_url: named.url(),
        cases,
        expected,
    });
    let started = Instant::now();
    let first = load.run(0..total / 2, concurrency).await;
    let rss_mid = proxy.rss_kib();
    let second = load.run(total / 2..total, concurrency).await;
    let elapsed = started.elapsed();
    let rss_end = proxy.rss_kib();

    let mut latencies: Vec<Duration> = first
        .latencies
        .iter()
        .chain(&second.latencies)
        .copied()
        .collect();
    latencies.sort_unstable();
    let errors: Vec<&String> = first.errors.iter().chain(&second.errors).collect();
    let bytes = first.bytes + second.bytes;
    eprintln!(
        "load: {total} requests at concurrency {concurrency} in {:.2}s = {:.0} req/s, {:.1} MiB of bodies; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} errors",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0),
        percentile(&latencies, 50).as_secs_f64() * 1000.0,
        percentile(&latencies, 99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        errors.len(),
    );
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    assert_eq!(latencies.len(), total);

    // Every request reached the mock it should have, with its own target.
    let (want_defaults, want_named) = expected_targets(total, &load.cases);
    assert_eq!(seen_targets(&defaults, defaults_before), want_defaults);
    assert_eq!(seen_targets(&named, named_before), want_named);

    // The proxy's own account agrees: every request counted, none failed.
    let stats = send(&client(), request("GET", &proxy.url("/stats"), &[], ""))
        .await
        .json();
    let entries = stats["upstreams"].as_array().unwrap();
    let counted: u64 = entries
        .iter()
        .map(|e| e["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, total as u64, "{stats}");
    for entry in entries {
        assert_eq!(entry["errors"], serde_json::json!({}), "{stats}");
    }

    // With the client gone, its connections close; what stays open beyond
    // the start is the pool of idle upstream connections, at most one per
    // concurrent request per upstream.
    drop(load);
    let pooled = || proxy.sockets_to(defaults.addr.port()) + proxy.sockets_to(named.addr.port());
    // The pool lets idle connections go after a few seconds, maybe between
    // two readings: the fds are read between two equal counts of the pool.
    let fds_and_pooled = || loop {
        let before = pooled();
        let fds = proxy.open_fds();
        if pooled() == before {
            return (fds, before);
        }
    };
    let settled = Instant::now() + Duration::from_secs(10);
    while Instant::now() < settled {
        let (fds, pooled) = fds_and_pooled();
        if fds.saturating_sub(pooled) <= fds_start {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ((fds_end, pooled_end), threads_end) = (fds_and_pooled(), proxy.threads());
    eprintln!(
        "load: fds {fds_start} -> {fds_end} ({pooled_end} of them idle pooled upstream connections); threads {threads_start} -> {threads_end}; RSS {rss_start} KiB -> {rss_mid} KiB at half-way -> {rss_end} KiB (peak {} KiB)",
        proxy.peak_rss_kib()
    );
    assert!(
        fds_end - pooled_end <= fds_start,
        "{} fds beyond the start and the pool",
        fds_end - pooled_end - fds_start
    );
    assert!(
        pooled_end <= 2 * concurrency,
        "{pooled_end} pooled connections"
    );
    assert!(
        threads_end <= threads_start + 2,
        "threads {threads_start} -> {threads_end}"
    );
    // The second half of the run must not grow memory: a leak of a few
    // hundred bytes per request would show here.
    assert!(
        rss_end <= rss_mid + 4 * 1024,
        "RSS grew {} KiB during the second half",
        rss_end.saturating_sub(rss_mid)
    );
    // Against the cold start, allow the allocator's per-thread arenas and
    // the connection buffers of one burst at full concurrency.
    assert!(
        rss_end <= rss_start + 24 * 1024,
        "RSS {rss_start} KiB -> {rss_end} KiB"
    );
}
