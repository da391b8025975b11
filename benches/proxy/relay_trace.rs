//! A proxy's own relay time for a burst of SSE events, read off the
//! kernel's system-call tracepoints with `perf`: from the `epoll_wait` that
//! wakes the proxy to the write that relays the burst's last event.
//!
//! The end-to-end delay also counts the mock and the load generator, which
//! share one core, so its p99 swings by a third from run to run. This figure
//! leaves them out: it is the same clock for any proxy that waits in
//! `epoll_wait` and writes with `send` or `writev`, as headroom and nginx do.
//!
//! perf stamps each call with `CLOCK_MONOTONIC`, the clock behind std's
//! `Instant`, so the bench can tell which of its rounds a burst fell in.

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{ensure, Context as _};
use rustix::process::{Pid, Signal};

/// Wake-ups and writes; reads are not needed to time a relay.
const EVENTS: &str =
    "syscalls:sys_exit_epoll_wait,syscalls:sys_enter_sendto,syscalls:sys_enter_writev";
/// How long perf takes to attach, and to exit when it fails to.
const ATTACH: Duration = Duration::from_millis(500);

/// `perf record` following one process until `finish`.
pub struct Trace {
    perf: Child,
    file: PathBuf,
}

impl Trace {
    /// Starts tracing `pid`; `None` when perf is missing or may not use
    /// tracepoints here (it needs root or `perf_event_paranoid` <= 1).
    pub fn start(pid: u32, dir: &Path, name: &str) -> Option<Trace> {
        let file = dir.join(format!("{name}.perf"));
        let perf = Command::new("perf")
            .args(["record", "-q", "-k", "monotonic", "-e", EVENTS])
            .args(["-p", &pid.to_string(), "-o"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut trace = Trace { perf, file };
        std::thread::sleep(ATTACH);
        match trace.perf.try_wait() {
            Ok(None) => Some(trace),
            _ => None,
        }
    }

    /// Stops the trace; every burst of exactly `burst` writes. Bursts are
    /// told apart by at least `quiet` without a traced system call.
    pub fn finish(mut self, burst: usize, quiet: Duration) -> anyhow::Result<Vec<Relayed>> {
        let pid = Pid::from_raw(self.perf.id() as i32).context("perf has no pid")?;
        rustix::process::kill_process(pid, Signal::INT)?;
        let status = self.perf.wait()?;
        // perf writes its file, then ends by the signal it was sent.
        let interrupted = status.signal() == Some(Signal::INT.as_raw());
        ensure!(
            status.success() || interrupted,
            "perf record ended with {status}"
        );
        let script = Command::new("perf")
            .args(["script", "-F", "time,event,trace", "-i"])
            .arg(&self.file)
            .stderr(Stdio::null())
            .output()?;
        ensure!(
            script.status.success(),
            "perf script ended with {}",
            script.status
        );
        let script = String::from_utf8_lossy(&script.stdout);
        Ok(relay_times(script.lines().filter_map(parse), burst, quiet))
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        // Already gone after `finish`; then both fail harmlessly.
        let _ = self.perf.kill();
        let _ = self.perf.wait();
    }
}

/// One burst relayed.
pub struct Relayed {
    /// When the proxy woke for it, on `CLOCK_MONOTONIC`.
    pub woke: Duration,
    /// From that wake-up to the write of the burst's last event.
    pub took: Duration,
}

/// The time on `CLOCK_MONOTONIC`, perf's clock here.
pub fn now() -> Duration {
    let time = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let seconds = u64::try_from(time.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(time.tv_nsec).unwrap_or(0);
    Duration::new(seconds, nanos)
}

/// Splits `relayed` by the rounds that began at `starts` (ascending);
/// bursts before the first start are dropped.
pub fn by_round(relayed: &[Relayed], starts: &[Duration]) -> Vec<Vec<Duration>> {
    let mut rounds = vec![Vec::new(); starts.len()];
    for burst in relayed {
        let began = starts.partition_point(|start| *start <= burst.woke);
        if let Some(round) = began.checked_sub(1) {
            rounds[round].push(burst.took);
        }
    }
    rounds
}

#[derive(Clone, Copy, PartialEq)]
enum Call {
    Wake,
    Write,
}

/// One line of `perf script -F time,event,trace`, for example
/// `25498.103830: syscalls:sys_exit_epoll_wait: 0x6`.
fn parse(line: &str) -> Option<(Duration, Call)> {
    let (time, rest) = line.trim().split_once(": ")?;
    // Parsed exactly rather than through a float: perf prints six
    // decimals, nine with --ns.
    let (seconds, fraction) = time.trim().split_once('.')?;
    let scale = 10_u64.checked_pow(9_u32.checked_sub(fraction.len() as u32)?)?;
    let at = Duration::from_secs(seconds.parse().ok()?)
        + Duration::from_nanos(fraction.parse::<u64>().ok()? * scale);
    let (event, value) = rest.trim_start().split_once(": ")?;
    match event {
        // A timeout returns 0: nothing arrived, nothing to relay.
        "syscalls:sys_exit_epoll_wait" if value.trim() != "0x0" => Some((at, Call::Wake)),
        "syscalls:sys_enter_sendto" | "syscalls:sys_enter_writev" => Some((at, Call::Write)),
        _ => None,
    }
}

fn relay_times(
    calls: impl Iterator<Item = (Duration, Call)>,
    burst: usize,
    quiet: Duration,
) -> Vec<Relayed> {
    let mut relayed = Vec::new();
    let mut keep = |group: &[(Duration, Call)]| {
        let writes: Vec<Duration> = group
            .iter()
            .filter(|(_, call)| *call == Call::Write)
            .map(|(at, _)| *at)
            .collect();
        if let (Some((woke, _)), true) = (group.first(), writes.len() == burst) {
            relayed.push(Relayed {
                woke: *woke,
                took: writes[burst - 1].saturating_sub(*woke),
            });
        }
    };
    let mut group: Vec<(Duration, Call)> = Vec::new();
    for (at, call) in calls {
        if group
            .last()
            .is_some_and(|(last, _)| at.saturating_sub(*last) > quiet)
        {
            keep(&group);
            group.clear();
        }
        group.push((at, call));
    }
    keep(&group);
    relayed
}
