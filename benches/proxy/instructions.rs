//! The user-space instructions a proxy executes per relayed SSE event and
//! per JSON request, counted by valgrind's callgrind.
//!
//! Timings on a shared 2-core machine swing by a third from run to run;
//! instruction counts do not, so they compare two builds, or two proxies,
//! to the percent. They leave out the kernel, where a proxy on loopback
//! spends most of its time, and say nothing of cache misses: they are the
//! proxy's own work, not its speed.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{ensure, Context as _};

/// True when valgrind and its `callgrind_control` are installed.
pub fn available() -> bool {
    which::which("valgrind").is_ok() && which::which("callgrind_control").is_ok()
}

/// `program` under callgrind, its counts written into `dir`.
pub fn command(program: &OsStr, dir: &Path, name: &str) -> Command {
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg("--quiet")
        .arg(format!(
            "--callgrind-out-file={}",
            dir.join(format!("{name}.%p")).display()
        ))
        .arg(program);
    command
}

/// Sets the counts of the process `pid` back to zero.
pub fn zero(pid: u32) -> anyhow::Result<()> {
    control(pid, "--zero")
}

/// The instructions the process `pid` (started by `command` with `name`)
/// executed since its counts were last zeroed.
pub fn read(pid: u32, dir: &Path, name: &str) -> anyhow::Result<u64> {
    control(pid, "--dump")?;
    // callgrind numbers its dumps NAME.PID.1, NAME.PID.2, ...
    let prefix = format!("{name}.{pid}.");
    let newest = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let number = entry
                .file_name()
                .to_str()?
                .strip_prefix(&prefix)?
                .parse::<u32>()
                .ok()?;
            Some((number, entry.path()))
        })
        .max_by_key(|(number, _)| *number)
        .context("callgrind wrote no dump")?
        .1;
    let dump = std::fs::read_to_string(&newest)?;
    dump.lines()
        .find_map(|line| line.strip_prefix("totals:"))
        .and_then(|counts| counts.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("{} has no totals line", newest.display()))
}

/// Returns once callgrind has acted: its `vgdb` interrupts a process
/// blocked in a system call (a proxy idle in `epoll_wait`) to deliver it.
fn control(pid: u32, action: &str) -> anyhow::Result<()> {
    let status = Command::new("callgrind_control")
        .arg(action)
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("could not run callgrind_control")?;
    ensure!(
        status.success(),
        "callgrind_control {action} {pid}: {status}"
    );
    Ok(())
}
