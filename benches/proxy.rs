//! Proxy overhead figures: one in-process mock upstream (mock.rs) reached directly,
//! through headroom, through nginx as the reference, through a second nginx
//! as the control, and through a TCP relay on tokio with no HTTP as the
//! floor. Prints a table and whether each target is met; a missed target
//! never fails the run.
//!
//! Run with `cargo bench --bench proxy` (loopback only, about ten minutes
//! once built, half of it in the SSE rounds: `HEADROOM_BENCH_SSE_ROUNDS`
//! sets how many, 40 by default; `HEADROOM_BENCH_JSON_ROUNDS` the JSON
//! rounds, 20 by default, about 5 s each). headroom runs with its usage
//! ledger on, in a temporary directory; `HEADROOM_BENCH_NO_LEDGER=1` turns it
//! off. The load at 32 connections comes from
//! wrk where it is installed (see wrk.rs). Where `perf` may use tracepoints (as
//! root), it also times each proxy's relay of a burst at its own system
//! calls; where valgrind is installed, it counts each proxy's
//! instructions per event and request.

#[path = "proxy/instructions.rs"]
mod instructions;
#[path = "proxy/mock.rs"]
mod mock;
#[path = "proxy/relay_trace.rs"]
mod relay_trace;
#[path = "proxy/tail.rs"]
mod tail;
#[path = "proxy/tcp_relay.rs"]
mod tcp_relay;
#[path = "proxy/wrk.rs"]
mod wrk;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const JSON_PATH: &str = "/v1/chat/completions";
/// On an LLM route, so headroom scans the stream for usage as it would an
/// agent's.
const SSE_PATH: &str = "/v1/bench/chat/completions";
const REQUEST_BODY: &str = r#"{"model":"mock-1","messages":[{"role":"user","content":"ping"}]}"#;
const JSON_REPLY: &str = concat!(
    r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"#,
    r#""model":"mock-1","choices":[{"index":0,"message":{"role":"assistant","#,
    r#""content":"pong"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"#,
    r#""completion_tokens":1,"total_tokens":10}}"#,
);

const SSE_EVENTS: u32 = 32;
const SSE_GAP: Duration = Duration::from_millis(20);
/// Streams read at once in each round, so the delay p99 rests on thousands
/// of events rather than a handful.
const SSE_STREAMS_PER_ROUND: usize = 8;
/// Each path's JSON measurements are taken in this many slices. Enough for
/// the throughput ratio's interval to give a verdict
/// (`tail::ROUNDS_FOR_A_VERDICT`); `JSON_ROUNDS_VAR` sets more for a
/// tighter interval.
const JSON_ROUNDS: usize = 20;
const JSON_ROUNDS_VAR: &str = "HEADROOM_BENCH_JSON_ROUNDS";
/// Rounds of SSE streams per path. A p99 needs far more events than a p50
/// to settle, so these outnumber the JSON rounds; `SSE_ROUNDS_VAR` sets
/// more (or fewer) for a tighter (or quicker) interval.
const SSE_ROUNDS: usize = 40;
const SSE_ROUNDS_VAR: &str = "HEADROOM_BENCH_SSE_ROUNDS";
const NO_LEDGER_VAR: &str = "HEADROOM_BENCH_NO_LEDGER";
const WARMUP_REQUESTS: usize = 200;
/// Sequential requests per path and JSON round.
const LATENCY_REQUESTS: usize = 100;
const CONCURRENCY: usize = 32;
const LOAD_WARMUP: Duration = Duration::from_millis(500);
/// The in-process load generator's load per path and round.
const LOAD_DURATION: Duration = Duration::from_millis(300);
/// wrk's load per path and round: its finest unit.
const WRK_SECONDS: u32 = 1;

/// Upper bound for any single request or stream, so a stuck path ends the
/// run instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Lets a freshly started proxy finish spawning its threads before its idle
/// RSS is read.
const SETTLE: Duration = Duration::from_millis(300);

const LISTENING: &str = "headroom proxy listening on http://";
const UPSTREAM_HEADER: &str = "x-headroom-upstream";
const PROXY_VARS: [&str; 8] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

const LATENCY_TARGET: f64 = 1.5;
const THROUGHPUT_TARGET: f64 = 1.0;
const SSE_TARGET: f64 = 1.0;
const IDLE_RSS_TARGET_MIB: f64 = 15.0;

/// With two or more cores, the proxies under test get a core of their own
/// and this process (mock and load generator) the other, so both proxies
/// are measured as one-core, one-worker servers without fighting the load
/// generator for the same CPU.
const BENCH_CPU: &str = "0";
const PROXY_CPU: &str = "1";

fn main() -> anyhow::Result<()> {
    if let Some(served) = tcp_relay::serve_if_asked() {
        return served;
    }
    let rounds = Rounds {
        json: rounds_from(JSON_ROUNDS_VAR, JSON_ROUNDS)?,
        sse: rounds_from(SSE_ROUNDS_VAR, SSE_ROUNDS)?,
    };
    let pinned = pin_this_process();
    println!(
        "{}",
        if pinned {
            "proxies pinned to CPU 1, mock and load generator to CPU 0"
        } else {
            "CPU pinning unavailable (needs taskset and 2 cores): figures are noisier"
        }
    );
    // Mock and client share this process, so one epoch timestamps SSE events
    // on the send side and the receive side alike.
    let epoch = Instant::now();
    let mock = mock::Mock::start(epoch)?;
    let wrk = wrk::Wrk::find()?;
    println!(
        "{}",
        match wrk {
            Some(_) => "load at 32 connections from wrk",
            None => "wrk not installed: load at 32 connections from this process, whose core sets every path's rate",
        }
    );
    let timed = Launch::Timed { pinned };
    let mut proxies = Vec::new();
    for proxy in Proxy::ALL {
        proxies.extend(proxy.start(mock.addr, timed)?);
    }
    // Headroom always starts (or the run stops above), and starts first.
    let headroom_pid = proxies[0].child.0.id();
    std::thread::sleep(SETTLE);
    let idle_rss = rss_mib(headroom_pid)?;

    let direct = Route::new("direct", mock.addr, None, None);
    let routes: Vec<Route> = std::iter::once(direct)
        .chain(proxies.iter().map(|started| started.route.clone()))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let figures = runtime.block_on(measure_all(&routes, epoch, rounds, wrk.as_ref()))?;
    let loaded_rss = rss_mib(headroom_pid)?;
    let relays = runtime.block_on(trace_relays(&routes, epoch))?;
    drop(proxies);
    // The timed figures are in hand: a failed count is reported, not fatal.
    let counts = runtime
        .block_on(count_instructions(mock.addr, epoch))
        .unwrap_or_else(|error| {
            eprintln!("instruction counts failed: {error:#}");
            Vec::new()
        });

    print_table(&figures, rounds, wrk.is_some());
    println!("headroom RSS: idle {idle_rss:.1} MiB, after load {loaded_rss:.1} MiB");
    print_relays(&relays);
    print_instructions(&counts);
    print_targets(&figures, idle_rss);
    Ok(())
}

// ---- proxies under test --------------------------------------------------

/// A child process killed when dropped, so no exit path leaves it running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The proxies under test, in the order they are reported.
#[derive(Clone, Copy)]
enum Proxy {
    Headroom,
    Nginx,
    /// A second nginx, set up as the first: the control. What it reads
    /// against nginx is how far apart two identical proxies read in one
    /// run, the finest difference the run can tell.
    NginxControl,
    /// The floor, a relay with no HTTP (see tcp_relay.rs).
    TcpRelay,
}

impl Proxy {
    const ALL: [Proxy; 4] = [
        Proxy::Headroom,
        Proxy::Nginx,
        Proxy::NginxControl,
        Proxy::TcpRelay,
    ];

    /// The name in the report, and (spaces made dashes) of its files.
    fn name(self) -> &'static str {
        match self {
            Proxy::Headroom => "headroom",
            Proxy::Nginx => "nginx",
            Proxy::NginxControl => "nginx 2",
            Proxy::TcpRelay => "tcp relay",
        }
    }

    /// Starts the proxy in front of `mock`; `None` when nginx is missing
    /// or does not come up: the other paths are still worth measuring.
    fn start(self, mock: SocketAddr, launch: Launch) -> anyhow::Result<Option<Started>> {
        match self {
            Proxy::Headroom => start_headroom(mock, launch).map(Some),
            Proxy::Nginx | Proxy::NginxControl => start_nginx(self, mock, launch),
            Proxy::TcpRelay => start_tcp_relay(mock, launch).map(Some),
        }
    }
}

/// A proxy serving: its route, and its process, killed when this is
/// dropped (before the temp directory nginx keeps, by field order).
struct Started {
    route: Route,
    child: KillOnDrop,
    _dir: Option<tempfile::TempDir>,
}

impl Started {
    fn new(
        proxy: Proxy,
        child: KillOnDrop,
        addr: SocketAddr,
        upstream: Option<SocketAddr>,
    ) -> Started {
        let route = Route::new(proxy.name(), addr, upstream, Some(child.0.id()));
        Started {
            route,
            child,
            _dir: None,
        }
    }
}

/// How many rounds of each kind a run takes.
#[derive(Clone, Copy)]
struct Rounds {
    json: usize,
    sse: usize,
}

/// The count the environment variable `var` sets, else `default`.
fn rounds_from(var: &str, default: usize) -> anyhow::Result<usize> {
    let Ok(set) = std::env::var(var) else {
        return Ok(default);
    };
    match set.trim().parse() {
        Ok(rounds) if rounds > 0 => Ok(rounds),
        _ => bail!("{var} must be a whole number of rounds, at least 1 (got {set:?})"),
    }
}

/// Moves every thread of this process onto `BENCH_CPU`; false when that is
/// not possible here.
fn pin_this_process() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores >= 2
        && Command::new("taskset")
            .args(["-a", "-p", "-c", BENCH_CPU, &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}

/// How a proxy under test is started.
#[derive(Clone, Copy)]
enum Launch<'a> {
    /// For timing: pinned to `PROXY_CPU` when pinning is on.
    Timed { pinned: bool },
    /// Under callgrind, its counts written into `dir` (see instructions.rs).
    Counted { dir: &'a Path, name: &'a str },
}

fn proxy_command(program: &std::ffi::OsStr, launch: Launch) -> Command {
    match launch {
        Launch::Timed { pinned: false } => Command::new(program),
        Launch::Timed { pinned: true } => {
            let mut command = Command::new("taskset");
            command.args(["-c", PROXY_CPU]).arg(program);
            command
        }
        Launch::Counted { dir, name } => instructions::command(program, dir, name),
    }
}

fn start_headroom(mock: SocketAddr, launch: Launch) -> anyhow::Result<Started> {
    let binary = env!("CARGO_BIN_EXE_headroom");
    let mut command = proxy_command(binary.as_ref(), launch);
    // The ledger is on, as for a user, but in a directory of the bench's own;
    // HEADROOM_BENCH_NO_LEDGER=1 measures the proxy without it.
    let state = tempfile::tempdir().context("no temporary directory for the ledger")?;
    command
        .args(["proxy", "--port", "0", "--log-level", "warn"])
        .env("XDG_STATE_HOME", state.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // The mock is on loopback; a proxy variable must not divert it.
    for var in PROXY_VARS {
        command.env_remove(var);
    }
    if std::env::var_os(NO_LEDGER_VAR).is_some_and(|set| set == "1") {
        command.arg("--no-ledger");
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start {binary}"))?;
    let stderr = child.stderr.take().context("headroom stderr not piped")?;
    let child = KillOnDrop(child);
    let addr = listen_addr(stderr)
        .recv_timeout(STARTUP_TIMEOUT)
        .context("headroom did not print its listening address")?;
    // headroom finds the mock by the override header.
    let mut started = Started::new(Proxy::Headroom, child, addr, Some(mock));
    started._dir = Some(state);
    Ok(started)
}

/// Reads the child's stderr on a thread: sends the address from the
/// listening line, echoes every other line, and keeps draining so the child
/// never blocks on a full pipe.
fn listen_addr(stderr: ChildStderr) -> mpsc::Receiver<SocketAddr> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            match line.strip_prefix(LISTENING).map(|a| a.trim().parse()) {
                Some(Ok(addr)) => {
                    let _ = sender.send(addr);
                }
                _ => eprintln!("headroom: {line}"),
            }
        }
    });
    receiver
}

fn start_nginx(
    proxy: Proxy,
    upstream: SocketAddr,
    launch: Launch,
) -> anyhow::Result<Option<Started>> {
    let Ok(binary) = which::which("nginx") else {
        println!("{}: nginx not installed: skipped", proxy.name());
        return Ok(None);
    };
    let dir = tempfile::tempdir()?;
    let addr = free_loopback_port()?;
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir.path(), addr, upstream))?;
    let child = proxy_command(binary.as_os_str(), launch)
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("could not start {}", binary.display()))?;
    let mut child = KillOnDrop(child);
    if let Err(error) = wait_until_listening(&mut child.0, addr) {
        let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        println!("{} did not start ({error:#}): skipped\n{log}", proxy.name());
        return Ok(None);
    }
    let started = Started::new(proxy, child, addr, None);
    Ok(Some(Started {
        _dir: Some(dir),
        ..started
    }))
}

/// A reverse-proxy set-up tuned the usual way for streaming: pooled HTTP/1.1
/// upstream connections and no response buffering. Keep-alive request caps
/// are lifted so neither hop reconnects mid-run.
fn nginx_conf(dir: &Path, listen: SocketAddr, upstream: SocketAddr) -> String {
    let dir = dir.display();
    format!(
        r#"worker_processes 1;
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    upstream mock {{
        server {upstream};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"#
    )
}

fn start_tcp_relay(upstream: SocketAddr, launch: Launch) -> anyhow::Result<Started> {
    let addr = free_loopback_port()?;
    let mut command = tcp_relay::command(addr, upstream, |program| proxy_command(program, launch))?;
    let mut child = KillOnDrop(command.spawn().context("could not start the tcp relay")?);
    wait_until_listening(&mut child.0, addr).context("the tcp relay did not start")?;
    Ok(Started::new(Proxy::TcpRelay, child, addr, None))
}

/// A port that was free a moment ago; nginx cannot be told to pick one.
fn free_loopback_port() -> anyhow::Result<SocketAddr> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn wait_until_listening(child: &mut Child, addr: SocketAddr) -> anyhow::Result<()> {
    let poll = Duration::from_millis(20);
    for _ in 0..STARTUP_TIMEOUT.as_millis() / poll.as_millis() {
        if let Some(status) = child.try_wait()? {
            bail!("exited with {status}");
        }
        if StdStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(poll);
    }
    bail!("not listening on {addr} after {STARTUP_TIMEOUT:?}")
}

/// CPU time a process has run so far, summed over its threads, from
/// `/proc/PID/task/*/sched`: nanosecond accounting, where `/proc/PID/stat`
/// counts 10 ms ticks, too coarse for a round's few milliseconds of
/// streaming. `None` where the kernel does not export it.
fn cpu_time(pid: u32) -> Option<Duration> {
    let mut total_ms = 0.0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let sched = std::fs::read_to_string(task.ok()?.path().join("sched")).ok()?;
        total_ms += sched
            .lines()
            .find_map(|line| line.strip_prefix("se.sum_exec_runtime"))?
            .trim_start_matches([' ', ':'])
            .trim()
            .parse::<f64>()
            .ok()?;
    }
    Some(Duration::from_secs_f64(total_ms / 1e3))
}

/// The proxy's CPU time over one phase of a round.
struct CpuMeter {
    pid: Option<u32>,
    before: Option<Duration>,
}

impl CpuMeter {
    fn start(pid: Option<u32>) -> CpuMeter {
        CpuMeter {
            pid,
            before: pid.and_then(cpu_time),
        }
    }

    /// The time spent since `start`.
    fn spent(&self) -> Option<Duration> {
        let now = self.pid.and_then(cpu_time)?;
        Some(now.saturating_sub(self.before?))
    }

    /// Adds the time spent since `start` to `total`.
    fn add_to(self, total: &mut Option<Duration>) {
        if let Some(spent) = self.spent() {
            *total.get_or_insert_default() += spent;
        }
    }
}

fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .context("no VmRSS line")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib / 1024.0)
}

// ---- load generator ------------------------------------------------------

type LoadClient = Client<HttpConnector, Full<Bytes>>;

fn load_client() -> LoadClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONCURRENCY * 2)
        .build(connector)
}

/// One way to reach the mock: its address, and the override header that
/// headroom needs to find the mock.
#[derive(Clone)]
struct Route {
    name: &'static str,
    addr: SocketAddr,
    upstream: Option<String>,
    /// The proxy process serving this path, whose CPU time is measured.
    proxy_pid: Option<u32>,
}

impl Route {
    fn new(
        name: &'static str,
        addr: SocketAddr,
        upstream: Option<SocketAddr>,
        proxy_pid: Option<u32>,
    ) -> Route {
        let upstream = upstream.map(|addr| format!("http://{addr}"));
        Route {
            name,
            addr,
            upstream,
            proxy_pid,
        }
    }

    fn request(&self, path: &str) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut builder = Request::post(format!("http://{}{path}", self.addr))
            .header(CONTENT_TYPE, "application/json");
        if let Some(upstream) = &self.upstream {
            builder = builder.header(UPSTREAM_HEADER, upstream.as_str());
        }
        let body = Full::new(Bytes::from_static(REQUEST_BODY.as_bytes()));
        Ok(builder.body(body)?)
    }
}

/// Sends one JSON request and reads the whole reply.
async fn send_json(client: &LoadClient, route: &Route) -> anyhow::Result<()> {
    let exchange = async {
        let response = client.request(route.request(JSON_PATH)?).await?;
        let status = response.status();
        response.into_body().collect().await?;
        ensure!(status.is_success(), "{} answered {status}", route.name);
        Ok(())
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .with_context(|| format!("{}: request timed out", route.name))?
}

struct Figures {
    name: &'static str,
    latency: Percentiles,
    requests_per_second: f64,
    loads: Vec<tail::Load>,
    first_event: Percentiles,
    /// The streams' events sent at the same moment.
    sse_delay: Percentiles,
    /// The streams' events sent in turn, `SSE_GAP / SSE_STREAMS_PER_ROUND`
    /// apart.
    sse_delay_in_turn: Percentiles,
    /// The samples behind the two above, per round, for their intervals.
    delays: Vec<Vec<Duration>>,
    delays_in_turn: Vec<Vec<Duration>>,
    /// The proxy's CPU time (user + system) per JSON request, in us.
    cpu_per_request: Option<f64>,
    /// The share of its core the proxy used under load.
    busy_under_load: Option<f64>,
    /// Per JSON round: the requests completed under load, and the CPU time
    /// the proxy spent on them (as `time`), for its requests per second of
    /// its core.
    core_loads: Vec<tail::Load>,
    /// The proxy's CPU time per SSE event relayed, in us.
    cpu_per_event: Option<f64>,
}

/// Everything measured on one path, gathered over all rounds.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    /// One per JSON round.
    loads: Vec<tail::Load>,
    /// The proxy's CPU time over the sequential requests.
    proxy_cpu: Option<Duration>,
    /// Per JSON round where it was measured: the requests completed under
    /// load, and the proxy's CPU time over them (as `time`).
    core_loads: Vec<tail::Load>,
    proxy_sse_cpu: Option<Duration>,
    first_events: Vec<Duration>,
    /// One list per SSE round.
    delays: Vec<Vec<Duration>>,
    delays_in_turn: Vec<Vec<Duration>>,
}

impl Samples {
    fn figures(self, name: &'static str) -> Figures {
        let completed: u64 = self.loads.iter().map(|load| load.completed).sum();
        let load_time: Duration = self.loads.iter().map(|load| load.time).sum();
        let json_requests = completed + self.latencies.len() as u64;
        let load_cpu: Option<Duration> = (!self.core_loads.is_empty())
            .then(|| self.core_loads.iter().map(|load| load.time).sum());
        let events = self.delays.iter().map(Vec::len).sum::<usize>();
        Figures {
            name,
            latency: Percentiles::of(self.latencies),
            requests_per_second: tail::rate(&self.loads).unwrap_or_default(),
            loads: self.loads,
            core_loads: self.core_loads,
            first_event: Percentiles::of(self.first_events),
            sse_delay: Percentiles::of(self.delays.concat()),
            sse_delay_in_turn: Percentiles::of(self.delays_in_turn.concat()),
            cpu_per_request: self.proxy_cpu.zip(load_cpu).map(|(alone, loaded)| {
                (alone + loaded).as_secs_f64() * 1e6 / json_requests.max(1) as f64
            }),
            busy_under_load: load_cpu.map(|cpu| cpu.as_secs_f64() / load_time.as_secs_f64()),
            cpu_per_event: self
                .proxy_sse_cpu
                .map(|cpu| cpu.as_secs_f64() * 1e6 / events.max(1) as f64),
            delays: self.delays,
            delays_in_turn: self.delays_in_turn,
        }
    }
}

/// The paths take turns, one slice of a measurement each per round, so
/// that a burst of background load on this shared machine hits them alike.
async fn measure_all(
    routes: &[Route],
    epoch: Instant,
    rounds: Rounds,
    wrk: Option<&wrk::Wrk>,
) -> anyhow::Result<Vec<Figures>> {
    let client = load_client();
    for route in routes {
        warm_up(&client, route, wrk)
            .await
            .with_context(|| format!("warming up {}", route.name))?;
    }
    let mut samples: Vec<Samples> = routes.iter().map(|_| Samples::default()).collect();
    for round in 0..rounds.json {
        eprintln!("JSON round {} of {}", round + 1, rounds.json);
        for path in turns(routes.len(), round) {
            let route = &routes[path];
            sample_json(&client, route, wrk, &mut samples[path])
                .await
                .with_context(|| format!("measuring {}", route.name))?;
        }
    }
    for round in 0..rounds.sse {
        eprintln!("SSE round {} of {}", round + 1, rounds.sse);
        for path in turns(routes.len(), round) {
            let route = &routes[path];
            sample_sse(&client, route, epoch, &mut samples[path])
                .await
                .with_context(|| format!("measuring {}", route.name))?;
        }
    }
    let named = routes.iter().zip(samples);
    Ok(named
        .map(|(route, samples)| samples.figures(route.name))
        .collect())
}

/// The order of the paths' turns in `round`: each round starts one path
/// later, so no path always follows the same one. The direct path leaves
/// the proxies' core idle, and the proxy after it starts cold.
fn turns(paths: usize, round: usize) -> impl Iterator<Item = usize> {
    (0..paths).map(move |turn| (round + turn) % paths)
}

/// Fills the pools on every hop: one connection for the sequential
/// requests, `CONCURRENCY` for the load.
async fn warm_up(client: &LoadClient, route: &Route, wrk: Option<&wrk::Wrk>) -> anyhow::Result<()> {
    for _ in 0..WARMUP_REQUESTS {
        send_json(client, route).await?;
    }
    run_load(client, route, LOAD_WARMUP).await?;
    if let Some(wrk) = wrk {
        load_from_wrk(wrk, route).await?;
    }
    Ok(())
}

async fn sample_json(
    client: &LoadClient,
    route: &Route,
    wrk: Option<&wrk::Wrk>,
    samples: &mut Samples,
) -> anyhow::Result<()> {
    let json_cpu = CpuMeter::start(route.proxy_pid);
    for _ in 0..LATENCY_REQUESTS {
        let started = Instant::now();
        send_json(client, route).await?;
        samples.latencies.push(started.elapsed());
    }
    json_cpu.add_to(&mut samples.proxy_cpu);
    let load_cpu = CpuMeter::start(route.proxy_pid);
    let load = match wrk {
        Some(wrk) => load_from_wrk(wrk, route).await?,
        None => {
            let started = Instant::now();
            let completed = run_load(client, route, LOAD_DURATION).await?;
            tail::Load {
                completed,
                time: started.elapsed(),
            }
        }
    };
    if let Some(cpu) = load_cpu.spent() {
        samples.core_loads.push(tail::Load {
            completed: load.completed,
            time: cpu,
        });
    }
    samples.loads.push(load);
    Ok(())
}

async fn load_from_wrk(wrk: &wrk::Wrk, route: &Route) -> anyhow::Result<tail::Load> {
    let upstream = route.upstream.as_deref();
    wrk.load(route.addr, JSON_PATH, upstream, CONCURRENCY, WRK_SECONDS)
        .await
        .context("wrk's load")
}

async fn sample_sse(
    client: &LoadClient,
    route: &Route,
    epoch: Instant,
    samples: &mut Samples,
) -> anyhow::Result<()> {
    let sse_cpu = CpuMeter::start(route.proxy_pid);
    let mut delays = Vec::new();
    for stream in read_streams(client, route, epoch, Duration::ZERO).await? {
        samples.first_events.push(stream.first_event);
        delays.extend(stream.delays);
    }
    sse_cpu.add_to(&mut samples.proxy_sse_cpu);
    samples.delays.push(delays);
    let in_turn = SSE_GAP / SSE_STREAMS_PER_ROUND as u32;
    let mut delays_in_turn = Vec::new();
    for stream in read_streams(client, route, epoch, in_turn).await? {
        delays_in_turn.extend(stream.delays);
    }
    samples.delays_in_turn.push(delays_in_turn);
    Ok(())
}

/// Reads `SSE_STREAMS_PER_ROUND` streams at once, stream `k`'s events
/// shifted by `k * shift` against the first's.
async fn read_streams(
    client: &LoadClient,
    route: &Route,
    epoch: Instant,
    shift: Duration,
) -> anyhow::Result<Vec<Stream>> {
    let mut streams = tokio::task::JoinSet::new();
    for k in 0..SSE_STREAMS_PER_ROUND as u32 {
        let (client, route) = (client.clone(), route.clone());
        let path = format!("{SSE_PATH}?phase_us={}", (shift * k).as_micros());
        streams.spawn(async move {
            tokio::time::timeout(REQUEST_TIMEOUT, read_stream(&client, &route, &path, epoch))
                .await
                .context("stream timed out")?
        });
    }
    let mut read = Vec::with_capacity(SSE_STREAMS_PER_ROUND);
    while let Some(joined) = streams.join_next().await {
        read.push(joined??);
    }
    Ok(read)
}

/// `CONCURRENCY` closed-loop workers until the deadline; returns how many
/// requests completed.
async fn run_load(client: &LoadClient, route: &Route, duration: Duration) -> anyhow::Result<u64> {
    let deadline = Instant::now() + duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (client, route) = (client.clone(), route.clone());
        workers.spawn(async move {
            let mut completed = 0_u64;
            while Instant::now() < deadline {
                send_json(&client, &route).await?;
                completed += 1;
            }
            anyhow::Ok(completed)
        });
    }
    let mut total = 0;
    while let Some(joined) = workers.join_next().await {
        total += joined??;
    }
    Ok(total)
}

struct Stream {
    /// From sending the request to receiving the first whole event.
    first_event: Duration,
    /// Per event: receive time minus the mock's send time.
    delays: Vec<Duration>,
}

async fn read_stream(
    client: &LoadClient,
    route: &Route,
    path: &str,
    epoch: Instant,
) -> anyhow::Result<Stream> {
    let started = Instant::now();
    let response = client.request(route.request(path)?).await?;
    ensure!(
        response.status().is_success(),
        "{} answered {}",
        route.name,
        response.status()
    );
    let mut body = response.into_body();
    // A proxy may split or merge frames, so events are cut out of a buffer.
    let mut pending = String::new();
    let mut first_event = None;
    let mut delays = Vec::with_capacity(SSE_EVENTS as usize);
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        let received = epoch.elapsed();
        pending.push_str(std::str::from_utf8(&data)?);
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            let sent = Duration::from_micros(sent_us(&event)?);
            delays.push(received.saturating_sub(sent));
            first_event.get_or_insert_with(|| started.elapsed());
        }
    }
    ensure!(
        delays.len() == SSE_EVENTS as usize,
        "{}: {} of {SSE_EVENTS} events",
        route.name,
        delays.len()
    );
    let first_event = first_event.context("no event received")?;
    Ok(Stream {
        first_event,
        delays,
    })
}

fn sent_us(event: &str) -> anyhow::Result<u64> {
    let json = event
        .trim()
        .strip_prefix("data: ")
        .context("event without data")?;
    let value: serde_json::Value = serde_json::from_str(json)?;
    value["sent_us"].as_u64().context("event without sent_us")
}

// ---- relay trace -------------------------------------------------------------

/// Rounds of burst streams read through each proxy while perf traces it:
/// enough for the p99 ratio's interval (see tail.rs).
const TRACE_ROUNDS: usize = 60;

/// A proxy's relay times for bursts of `SSE_STREAMS_PER_ROUND` events.
struct Relay {
    name: &'static str,
    bursts: usize,
    time: Percentiles,
    /// The samples behind `time`, per round, for the ratio's interval.
    rounds: Vec<Vec<Duration>>,
}

/// Reads burst streams through each proxy while `perf` traces its system
/// calls; empty when perf cannot trace here.
async fn trace_relays(routes: &[Route], epoch: Instant) -> anyhow::Result<Vec<Relay>> {
    let dir = tempfile::tempdir()?;
    let mut traces = Vec::new();
    for route in routes {
        let Some(pid) = route.proxy_pid else {
            continue;
        };
        match relay_trace::Trace::start(pid, dir.path(), route.name) {
            Some(trace) => traces.push((route, trace)),
            None => return Ok(Vec::new()),
        }
    }
    let client = load_client();
    let mut round_starts = Vec::with_capacity(TRACE_ROUNDS);
    // The proxies take turns, as in the main rounds.
    for round in 0..TRACE_ROUNDS {
        round_starts.push(relay_trace::now());
        for path in turns(traces.len(), round) {
            read_streams(&client, traces[path].0, epoch, Duration::ZERO).await?;
        }
    }
    traces
        .into_iter()
        .map(|(route, trace)| {
            let relayed = trace.finish(SSE_STREAMS_PER_ROUND, SSE_GAP / 4)?;
            let rounds = relay_trace::by_round(&relayed, &round_starts);
            Ok(Relay {
                name: route.name,
                bursts: relayed.len(),
                time: Percentiles::of(rounds.concat()),
                rounds,
            })
        })
        .collect()
}

// ---- instruction counts ------------------------------------------------------

/// Burst rounds and JSON requests counted per proxy under callgrind.
const COUNTED_ROUNDS: usize = 3;
const COUNTED_REQUESTS: usize = 300;

/// A proxy's user-space instructions per SSE event (its stream's request
/// spread over the stream's events) and per JSON request.
struct Instructions {
    name: &'static str,
    per_event: f64,
    per_request: f64,
}

/// Each proxy in turn under callgrind; empty when valgrind is missing.
async fn count_instructions(mock: SocketAddr, epoch: Instant) -> anyhow::Result<Vec<Instructions>> {
    if !instructions::available() {
        return Ok(Vec::new());
    }
    let dir = tempfile::tempdir()?;
    let mut counts = Vec::new();
    // The control's instructions are nginx's.
    let counted = Proxy::ALL
        .into_iter()
        .filter(|&proxy| !matches!(proxy, Proxy::NginxControl));
    for proxy in counted {
        let file = proxy.name().replace(' ', "-");
        let launch = Launch::Counted {
            dir: dir.path(),
            name: &file,
        };
        // The proxy lives until the end of its turn.
        let Some(started) = proxy.start(mock, launch)? else {
            continue;
        };
        let route = &started.route;
        let pid = started.child.0.id();
        let client = load_client();
        // Connections and pools are set up before counting starts.
        read_streams(&client, route, epoch, Duration::ZERO).await?;
        send_json(&client, route).await?;
        instructions::zero(pid)?;
        for _ in 0..COUNTED_ROUNDS {
            read_streams(&client, route, epoch, Duration::ZERO).await?;
        }
        let streamed = instructions::read(pid, dir.path(), &file)?;
        instructions::zero(pid)?;
        for _ in 0..COUNTED_REQUESTS {
            send_json(&client, route).await?;
        }
        let requested = instructions::read(pid, dir.path(), &file)?;
        let events = COUNTED_ROUNDS * SSE_STREAMS_PER_ROUND * SSE_EVENTS as usize;
        counts.push(Instructions {
            name: proxy.name(),
            per_event: streamed as f64 / events as f64,
            per_request: requested as f64 / COUNTED_REQUESTS as f64,
        });
    }
    Ok(counts)
}

// ---- statistics and report -------------------------------------------------

/// Percentiles in microseconds.
struct Percentiles {
    p50: f64,
    p99: f64,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Percentiles {
        samples.sort_unstable();
        Percentiles {
            p50: percentile(&samples, 0.50),
            p99: percentile(&samples, 0.99),
        }
    }
}

/// Nearest-rank percentile of sorted samples, in microseconds.
fn percentile(sorted: &[Duration], quantile: f64) -> f64 {
    let rank = (sorted.len().saturating_sub(1) as f64 * quantile).round() as usize;
    sorted
        .get(rank)
        .map_or(0.0, |sample| sample.as_secs_f64() * 1e6)
}

fn print_table(figures: &[Figures], rounds: Rounds, from_wrk: bool) {
    let load = match from_wrk {
        true => format!("{CONCURRENCY} connections from wrk for {WRK_SECONDS} s per round"),
        false => format!("{CONCURRENCY} concurrent for {LOAD_DURATION:?} per round"),
    };
    println!();
    println!(
        "Interleaved rounds; JSON: {} rounds, {LATENCY_REQUESTS} sequential requests per round, \
         then {load}; \
         SSE: {} rounds of {SSE_STREAMS_PER_ROUND} concurrent streams of {SSE_EVENTS} events {SSE_GAP:?} apart \
         (1st evt: request to first event, p50, the path idle for the other paths' turns; dly: event receive minus send, with the \
         streams' events sent at the same moment; turn p99: the same, sent in turn, \
         {:?} apart; cpu/req, cpu/evt: the proxy's CPU per JSON request, per SSE event); \
         times in us",
        rounds.json,
        rounds.sse,
        SSE_GAP / SSE_STREAMS_PER_ROUND as u32
    );
    println!(
        "{:<9} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {:>8} {:>8}",
        "path",
        "p50",
        "p99",
        "+p50",
        "+p99",
        "req/s",
        "1st evt",
        "+1st evt",
        "dly p50",
        "dly p99",
        "turn p99",
        "cpu/req",
        "cpu/evt"
    );
    let Some(direct) = figures.first() else {
        return;
    };
    for row in figures {
        println!(
            "{:<9} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9.0} {:>9.1} {:>9.1} {:>8.1} {:>8.1} {:>9.1} {:>8} {:>8}",
            row.name,
            row.latency.p50,
            row.latency.p99,
            row.latency.p50 - direct.latency.p50,
            row.latency.p99 - direct.latency.p99,
            row.requests_per_second,
            row.first_event.p50,
            row.first_event.p50 - direct.first_event.p50,
            row.sse_delay.p50,
            row.sse_delay.p99,
            row.sse_delay_in_turn.p99,
            one_decimal(row.cpu_per_request),
            one_decimal(row.cpu_per_event),
        );
    }
    println!("under load, the proxy's core:");
    for row in figures {
        let (Some(busy), Some(rate)) = (row.busy_under_load, tail::rate(&row.core_loads)) else {
            continue;
        };
        println!(
            "{:<9} {:>3.0}% busy, {rate:>6.0} requests per second of its CPU time",
            row.name,
            busy * 100.0
        );
    }
    println!();
}

fn one_decimal(figure: Option<f64>) -> String {
    figure.map_or_else(|| "-".to_owned(), |figure| format!("{figure:.1}"))
}

fn print_relays(relays: &[Relay]) {
    if relays.is_empty() {
        println!("relay trace: skipped (perf missing, or not allowed tracepoints: run as root)");
        return;
    }
    println!(
        "relay of a burst of {SSE_STREAMS_PER_ROUND} events, from the proxy's wake-up to its write \
         of the last one, at its own system calls (perf, {TRACE_ROUNDS} rounds); times in us"
    );
    for relay in relays {
        println!(
            "{:<9} bursts {:>5}  p50 {:>7.1}  p99 {:>7.1}",
            relay.name, relay.bursts, relay.time.p50, relay.time.p99
        );
    }
    let find = |proxy: Proxy| relays.iter().find(|relay| relay.name == proxy.name());
    if let (Some(headroom), Some(nginx)) = (find(Proxy::Headroom), find(Proxy::Nginx)) {
        report_interval(
            "SSE burst relay p99, headroom / nginx",
            tail::p99_ratio(&headroom.rounds, &nginx.rounds),
            Goal::AtMost(SSE_TARGET),
        );
        if let Some(control) = find(Proxy::NginxControl) {
            report_control(
                "the same, control: nginx 2 / nginx",
                tail::p99_ratio(&control.rounds, &nginx.rounds),
            );
        }
    }
    println!();
}

fn print_instructions(counts: &[Instructions]) {
    if counts.is_empty() {
        println!("instruction counts: skipped (valgrind not installed, or it failed)\n");
        return;
    }
    println!(
        "user-space instructions (valgrind callgrind; {COUNTED_ROUNDS} burst rounds, \
         {COUNTED_REQUESTS} JSON requests; an SSE event carries its share of its stream's request)"
    );
    for count in counts {
        println!(
            "{:<9} per SSE event {:>7.0}  per JSON request {:>7.0}",
            count.name, count.per_event, count.per_request
        );
    }
    println!();
}

fn print_targets(figures: &[Figures], idle_rss: f64) {
    let find = |proxy: Proxy| figures.iter().find(|row| row.name == proxy.name());
    let (Some(direct), Some(headroom)) = (figures.first(), find(Proxy::Headroom)) else {
        return;
    };
    if let Some(nginx) = find(Proxy::Nginx) {
        // Added latency can round to zero or below; a 1 us floor keeps the
        // ratio finite without flattering either side.
        let added = |row: &Figures| (row.latency.p50 - direct.latency.p50).max(1.0);
        let ratio = added(headroom) / added(nginx);
        report(
            "added p50 latency, headroom / nginx",
            ratio,
            "<=",
            ratio <= LATENCY_TARGET,
            LATENCY_TARGET,
        );
        report_interval(
            "throughput, headroom / nginx",
            tail::rate_ratio(&headroom.loads, &nginx.loads),
            Goal::AtLeast(THROUGHPUT_TARGET),
        );
        // Where the load generator's core saturates first, the rates above
        // tie; this one is the proxy's alone.
        report_interval(
            "requests per CPU second, headroom / nginx",
            tail::rate_ratio(&headroom.core_loads, &nginx.core_loads),
            Goal::AtLeast(THROUGHPUT_TARGET),
        );
        report_interval(
            "SSE event delay p99, events at once, headroom / nginx",
            tail::p99_ratio(&headroom.delays, &nginx.delays),
            Goal::AtMost(SSE_TARGET),
        );
        report_interval(
            "SSE event delay p99, events in turn, headroom / nginx",
            tail::p99_ratio(&headroom.delays_in_turn, &nginx.delays_in_turn),
            Goal::AtMost(SSE_TARGET),
        );
        if let Some(control) = find(Proxy::NginxControl) {
            print_control(control, nginx);
        }
    } else {
        println!("nginx ratios: skipped (no nginx)");
    }
    let met = idle_rss < IDLE_RSS_TARGET_MIB;
    report(
        "headroom idle RSS, MiB",
        idle_rss,
        "<",
        met,
        IDLE_RSS_TARGET_MIB,
    );
}

/// The ratios above with the control in headroom's place: two identical
/// proxies, whose intervals should hold 1.0.
fn print_control(control: &Figures, nginx: &Figures) {
    report_control(
        "control: throughput, nginx 2 / nginx",
        tail::rate_ratio(&control.loads, &nginx.loads),
    );
    report_control(
        "control: SSE delay p99 at once, nginx 2 / nginx",
        tail::p99_ratio(&control.delays, &nginx.delays),
    );
    report_control(
        "control: SSE delay p99 in turn, nginx 2 / nginx",
        tail::p99_ratio(&control.delays_in_turn, &nginx.delays_in_turn),
    );
}

/// A control ratio, and whether its interval holds 1.0 as it should. One
/// that does not says the run's intervals are narrower than its spread.
fn report_control(what: &str, interval: Option<tail::Interval>) {
    let Some(tail::Interval {
        ratio,
        low,
        high,
        rounds,
    }) = with_samples(what, interval)
    else {
        return;
    };
    let verdict = if rounds < tail::ROUNDS_FOR_A_VERDICT {
        "too few rounds to tell"
    } else if (low..=high).contains(&1.0) {
        "holds 1.00, as it should"
    } else {
        "misses 1.00: this run's intervals are narrower than its spread"
    };
    println!("{what:<40} {ratio:>7.2}  (95% interval {low:.2}-{high:.2}): {verdict}");
}

/// `interval`, or `None` once its line says there were no samples.
fn with_samples(what: &str, interval: Option<tail::Interval>) -> Option<tail::Interval> {
    if interval.is_none() {
        println!("{what:<40} no samples");
    }
    interval
}

fn report(what: &str, value: f64, relation: &str, met: bool, target: f64) {
    let verdict = if met { "target met" } else { "target missed" };
    println!("{what:<40} {value:>7.2}  (target {relation} {target:.2}): {verdict}");
}

/// The side of its target a ratio is to fall on.
#[derive(Clone, Copy)]
enum Goal {
    AtMost(f64),
    AtLeast(f64),
}

/// A ratio is called met or missed only when its whole 95% interval lies
/// on one side of the target, and there are rounds enough to trust it.
fn report_interval(what: &str, interval: Option<tail::Interval>, goal: Goal) {
    let Some(interval) = with_samples(what, interval) else {
        return;
    };
    let tail::Interval {
        ratio,
        low,
        high,
        rounds,
    } = interval;
    let (relation, target, met, missed) = match goal {
        Goal::AtMost(target) => ("<=", target, high <= target, low > target),
        Goal::AtLeast(target) => (">=", target, low >= target, high < target),
    };
    let verdict = if rounds < tail::ROUNDS_FOR_A_VERDICT {
        format!(
            "no verdict from {rounds} rounds (needs {})",
            tail::ROUNDS_FOR_A_VERDICT
        )
    } else if met {
        "target met".to_owned()
    } else if missed {
        "target missed".to_owned()
    } else {
        "not shown either way (the interval spans the target)".to_owned()
    };
    println!(
        "{what:<40} {ratio:>7.2}  (95% interval {low:.2}-{high:.2}; target {relation} {target:.2}): {verdict}"
    );
}
