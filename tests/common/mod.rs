//! Shared test support: the mock upstream, the real headroom binary started
//! on port 0, and a small HTTP client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod agents;
pub mod mock;
pub mod opencode;
pub mod prometheus;
pub mod raw;
pub mod sessions;
pub mod tls;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub const BIN: &str = env!("CARGO_BIN_EXE_headroom");

/// A loopback port that was free a moment ago (nothing listens on it now).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `headroom proxy` running as a child process; killed on drop.
pub struct ProxyProcess {
    pub addr: SocketAddr,
    child: Child,
    stderr: Arc<Mutex<String>>,
}

/// Proxy flags pointing every API family's default upstream at `url`.
pub fn family_defaults(url: &str) -> [&str; 6] {
    [
        "--openai-upstream",
        url,
        "--anthropic-upstream",
        url,
        "--gemini-upstream",
        url,
    ]
}

/// A fresh proxy whose every family default is a fresh mock.
pub struct Target {
    pub mock: mock::MockUpstream,
    pub proxy: ProxyProcess,
}

pub fn target() -> Target {
    let mock = mock::MockUpstream::start();
    let proxy = ProxyProcess::start(&family_defaults(&mock.url()));
    Target { mock, proxy }
}

impl ProxyProcess {
    /// Starts `headroom proxy --port 0 ARGS` and waits for its listening line.
    pub fn start(args: &[&str]) -> ProxyProcess {
        Self::start_with_env(args, &[])
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> ProxyProcess {
        Self::start_on(0, args, env)
    }

    /// Starts `headroom proxy --port PORT ARGS`, for a test that must know
    /// the port before the proxy starts.
    pub fn start_on(port: u16, args: &[&str], env: &[(&str, &str)]) -> ProxyProcess {
        Self::spawn(Command::new(BIN), port, args, env)
    }

    /// Starts `headroom proxy --port 0 ARGS` allowed at most `limit` open
    /// file descriptors (`ulimit -n`).
    pub fn start_with_fd_limit(limit: u32, args: &[&str]) -> ProxyProcess {
        let mut command = Command::new("sh");
        let script = r#"ulimit -n "$1" && shift && exec "$@""#;
        command.args(["-c", script, "sh", &limit.to_string(), BIN]);
        Self::spawn(command, 0, args, &[])
    }

    fn spawn(mut command: Command, port: u16, args: &[&str], env: &[(&str, &str)]) -> ProxyProcess {
        command
            .args(["proxy", "--port", &port.to_string()])
            .args(args);
        for var in [
            "OPENAI_TARGET_API_URL",
            "ANTHROPIC_TARGET_API_URL",
            "GEMINI_TARGET_API_URL",
            "RUST_LOG",
            "HTTPS_PROXY",
            "HTTP_PROXY",
            "https_proxy",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        // A usage ledger only where a test puts one: never in the home of
        // whoever runs the tests, nor as files a leak check would count.
        if !env.iter().any(|(name, _)| *name == "XDG_STATE_HOME") {
            command.arg("--no-ledger");
            // Spill files likewise: the proxy makes its spill directory
            // as it starts.
            if !args.contains(&"--spill-dir") {
                command.args([
                    "--spill-dir",
                    concat!(env!("CARGO_TARGET_TMPDIR"), "/spill"),
                ]);
            }
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn headroom");
        let stderr = child.stderr.take().expect("stderr");
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let log_writer = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // The address ends the text line, and a quote ends it
                // in the JSON one.
                if let Some(url) = line.split("listening on http://").nth(1) {
                    let addr = url.split(['"', ' ']).next().unwrap_or_default();
                    let _ = addr_tx.send(addr.parse::<SocketAddr>());
                }
                let mut log = log_writer.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = match addr_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(addr)) => addr,
            other => {
                let _ = child.kill();
                panic!(
                    "headroom proxy did not report its address ({other:?}); stderr:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        ProxyProcess {
            addr,
            child,
            stderr: log,
        }
    }

    /// Runs `headroom proxy ARGS`, which must refuse to start: fails the
    /// test if it is still running after 10 s (it would serve forever).
    /// Gives its exit code and stderr.
    pub fn refused_at_start(args: &[&str]) -> (Option<i32>, String) {
        // Anything it makes before it stops goes here, not into a home.
        let state = tempfile::tempdir().unwrap();
        let mut proxy = Command::new(BIN)
            .arg("proxy")
            .args(args)
            .env("XDG_STATE_HOME", state.path())
            .env_remove("OPENAI_TARGET_API_URL")
            .env_remove("ANTHROPIC_TARGET_API_URL")
            .env_remove("GEMINI_TARGET_API_URL")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let exited = settles(Duration::from_secs(10), || {
            proxy.try_wait().unwrap().is_some()
        });
        if !exited {
            proxy.kill().unwrap();
        }
        let output = proxy.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(exited, "{args:?}: the proxy started: {stderr}");
        (output.status.code(), stderr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process wrote to stderr so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Resident set size in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmRSS:")
    }

    pub fn peak_rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmHWM:")
    }

    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }

    /// Sends `signal` and waits for the exit status.
    pub fn stop_with(&mut self, name: &str) -> std::process::ExitStatus {
        signal(self.pid(), name);
        let what = format!("headroom did not exit after {name}");
        wait_exit(&mut self.child, Duration::from_secs(15), &what)
    }
}

/// Sends signal `name` (e.g. "TERM") to `pid`.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// `command` run on a terminal of its own, as `script` (util-linux) runs
/// it: the session leader and foreground process group of a new pseudo
/// terminal, the way a shell runs a command. Bytes written to the returned
/// command's piped stdin are typed at that terminal (0x03 is Ctrl-C).
/// `command` must have been set up with `env_clear`.
pub fn on_terminal(command: &Command) -> Command {
    let quote =
        |word: &std::ffi::OsStr| format!("'{}'", word.to_string_lossy().replace('\'', r"'\''"));
    let words: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(quote)
        .collect();
    let mut terminal = Command::new("script");
    terminal
        .args(["-q", "-e", "-c"])
        .arg(format!("exec {}", words.join(" ")))
        .arg("/dev/null")
        .env_clear()
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(Stdio::piped());
    if let Some(dir) = command.get_current_dir() {
        terminal.current_dir(dir);
    }
    terminal
}

/// Waits for `child` to exit; panics with `what` after `timeout`.
pub fn wait_exit(child: &mut Child, timeout: Duration, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

pub type TestClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A collected response.
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub async fn send(client: &TestClient, request: Request<Full<Bytes>>) -> Reply {
    let response: Response<_> = client.request(request).await.expect("request failed");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

/// Reads a response body frame by frame: each data frame with its arrival
/// time, and how the body ended (the error's text if it failed).
pub async fn frames(
    response: http::Response<hyper::body::Incoming>,
) -> (Vec<(Instant, Bytes)>, Result<(), String>) {
    let mut body = response.into_body();
    let mut seen = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    seen.push((Instant::now(), data));
                }
            }
            Err(e) => return (seen, Err(e.to_string())),
        }
    }
    (seen, Ok(()))
}

/// A request builder for `method url` with the given headers and body.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::new(body.into())).expect("request")
}

/// Waits until `condition` holds, polling, or panics after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, condition: impl FnMut() -> bool) {
    assert!(settles(timeout, condition), "timed out waiting for {what}");
}

/// `HEADROOM_STRESS_SCALE` (a float, default 1.0) multiplies the request and
/// repetition counts of the reliability tests.
pub fn stress_scale() -> f64 {
    std::env::var("HEADROOM_STRESS_SCALE")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
        .unwrap_or(1.0)
}

/// `n` times the stress scale, at least 1.
pub fn scaled(n: usize) -> usize {
    ((n as f64 * stress_scale()).round() as usize).max(1)
}

/// Nearest-rank percentile of sorted durations.
pub fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (pct * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

impl ProxyProcess {
    /// The process's thread count, from /proc.
    pub fn threads(&self) -> u64 {
        proc_status_kib(self.pid(), "Threads:")
    }

    /// How many of the process's open sockets are TCP connections to
    /// `port` (for example idle pooled connections to a mock upstream).
    pub fn sockets_to(&self, port: u16) -> usize {
        sockets_to(self.pid(), port)
    }
}

/// Open TCP sockets of `pid` whose remote port is `port`, matched through
/// the socket inodes in /proc/PID/fd and /proc/PID/net/tcp{,6}.
pub fn sockets_to(pid: u32, port: u16) -> usize {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            let inode = link.strip_prefix("socket:[")?.strip_suffix(']')?;
            Some(inode.to_string())
        })
        .collect();
    let wanted = format!("{port:04X}");
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok())
        .flat_map(|text| text.lines().skip(1).map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let remote_port = fields.get(2).and_then(|r| r.rsplit(':').next());
            remote_port == Some(wanted.as_str())
                && fields.get(9).is_some_and(|inode| inodes.contains(*inode))
        })
        .count()
}

/// Polls `condition` until it holds or `timeout` passes; says which.
pub fn settles(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !condition() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}
