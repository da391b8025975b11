//! The agent as a child process: spawned on the user's terminal, sent the
//! signals headroom receives (a Ctrl-C only when the terminal did not
//! already deliver it), killed if headroom dies, and its exit status turned
//! into headroom's exit code.

use std::io;
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustix::process::{Pid, Signal};
use tokio::process::Command;
use tokio::signal::unix::{signal, SignalKind};

/// The agent binary could not be found: exit code 127.
#[derive(Debug)]
pub struct AgentNotFound(pub String);

impl std::fmt::Display for AgentNotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AgentNotFound {}

/// Runs `command` to completion, forwarding SIGINT, SIGTERM and SIGHUP.
pub async fn run(mut command: Command) -> anyhow::Result<ExitStatus> {
    die_with_parent(&mut command);
    // Installed before the spawn: from then on a Ctrl-C must not take
    // headroom's default action (exit) and leave the agent without its proxy.
    let handlers = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        SentInterrupts::count(),
    );
    let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup), Ok(sent_interrupts)) = handlers
    else {
        return Err(anyhow::anyhow!("could not install signal handlers"));
    };
    let mut child = command.spawn()?;
    let Some(pid) = child.id().and_then(|id| Pid::from_raw(id as i32)) else {
        return Ok(child.wait().await?);
    };
    loop {
        let forwarded = tokio::select! {
            status = child.wait() => return Ok(status?),
            _ = interrupt.recv() => {
                if !sent_interrupts.take() && in_our_process_group(pid) {
                    tracing::info!("the terminal's Ctrl-C reached the agent itself; not forwarding it");
                    continue;
                }
                Signal::INT
            }
            _ = terminate.recv() => Signal::TERM,
            _ = hangup.recv() => Signal::HUP,
        };
        tracing::info!(
            signal = forwarded.as_raw(),
            "forwarding signal to the agent"
        );
        // The child may have exited in between; its status comes next.
        let _ = rustix::process::kill_process(pid, forwarded);
    }
}

/// True while the agent is still in headroom's process group, so a signal
/// the terminal sends to its foreground group reaches both.
fn in_our_process_group(agent: Pid) -> bool {
    rustix::process::getpgid(Some(agent)).is_ok_and(|group| group == rustix::process::getpgrp())
}

/// SIGINTs a process sent since the last look.
static SENT_INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

/// Counts the SIGINTs that a process sent (kill, sigqueue), telling them
/// apart from the terminal's Ctrl-C, which the kernel sends to the whole
/// foreground process group: the agent has that one already, and a second
/// is, to many programs, the "force quit" Ctrl-C.
struct SentInterrupts(signal_hook_registry::SigId);

impl SentInterrupts {
    #[allow(unsafe_code)]
    fn count() -> io::Result<SentInterrupts> {
        // SAFETY: the action runs inside the signal handler; it reads a
        // field of the siginfo it is given and does one atomic add, both
        // async-signal-safe. It allocates nothing and takes no lock.
        let id = unsafe {
            signal_hook_registry::register_sigaction(libc::SIGINT, |info: &libc::siginfo_t| {
                // SI_USER, SI_QUEUE, SI_TKILL and the like are <= 0; the
                // terminal's signals carry SI_KERNEL.
                if info.si_code <= 0 {
                    SENT_INTERRUPTS.fetch_add(1, Ordering::Relaxed);
                }
            })
        }?;
        SENT_INTERRUPTS.store(0, Ordering::Relaxed);
        Ok(SentInterrupts(id))
    }

    /// True when a process sent a SIGINT since the last call.
    fn take(&self) -> bool {
        SENT_INTERRUPTS.swap(0, Ordering::Relaxed) > 0
    }
}

impl Drop for SentInterrupts {
    fn drop(&mut self) {
        signal_hook_registry::unregister(self.0);
    }
}

/// The shell convention: the exit code, or 128 + N for death by signal N.
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(255),
        (None, None) => 1,
    }
}

/// Asks Linux to kill the child when headroom dies, however it dies, so the
/// agent never outlives the proxy it talks to.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    let parent = rustix::process::getpid();
    // SAFETY: the closure runs in the forked child before exec and only
    // makes two async-signal-safe system calls (prctl, getppid); it
    // allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            // headroom may have died before the prctl took effect.
            if rustix::process::getppid() != Some(parent) {
                return Err(io::Error::other("headroom exited while starting the agent"));
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(15)), 143);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }

    #[tokio::test]
    async fn the_childs_status_comes_back() {
        let mut command = Command::new("sh");
        command.args(["-c", "exit 7"]);
        let status = run(command).await.map(exit_code).ok();
        assert_eq!(status, Some(7));
    }
}
