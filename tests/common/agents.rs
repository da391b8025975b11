//! What the end-to-end tests of every wrapped agent check the same way:
//! the request reached the mock through headroom with the user's
//! credential and no control header, the user's files are as they were,
//! and nothing of the run is left behind (files or processes).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::mock::MockUpstream;
use super::opencode::Sandbox;

/// The agent binary build.rs found (`found`), or a failure that says how
/// to install it. A test only gets here without one when `CI` or
/// `HEADROOM_E2E` requires the e2e tests (or `--include-ignored` runs
/// them); otherwise build.rs's `<agent>_missing` marks it ignored.
pub fn binary(found: Option<&str>, expected: &str, install: &str) -> PathBuf {
    match found {
        Some(path) => PathBuf::from(path),
        None => panic!("not found at {expected}: install it with `{install}` (or run .ci/run)"),
    }
}

/// The agent `binary` set up to run on its own as headroom would run it
/// in `sandbox`: the same directory and environment, no input.
pub fn alone(sandbox: &Sandbox, binary: PathBuf) -> Command {
    let mut command = Command::new(binary);
    command
        .current_dir(sandbox.project())
        .env_clear()
        .envs(&sandbox.env)
        .stdin(Stdio::null());
    command
}

/// The agent run `alone` fails, and `wrapped`, the same run through
/// headroom, exits with the very same code.
pub fn assert_exit_is_the_agents(wrapped: &Output, alone: &mut Command) {
    let alone = alone.output().expect("run the agent alone");
    assert_ne!(alone.status.code(), Some(0), "{}", describe(&alone));
    assert_eq!(
        wrapped.status.code(),
        alone.status.code(),
        "{}",
        describe(wrapped)
    );
}

/// Every request reached the mock under `prefix`, and at least one was
/// the family's completion call.
pub fn assert_targets(mock: &MockUpstream, prefix: &str, call: &str) {
    let targets: Vec<String> = mock.requests().into_iter().map(|r| r.target).collect();
    assert!(targets.iter().all(|t| t.starts_with(prefix)), "{targets:?}");
    assert!(targets.iter().any(|t| t.contains(call)), "{targets:?}");
}

/// The run exited 0 and printed the mock's reply.
pub fn assert_completed(output: &Output) {
    assert_eq!(output.status.code(), Some(0), "{}", describe(output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(super::mock::REPLY),
        "{}",
        describe(output)
    );
}

/// stdout and stderr of a run, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every request the mock saw came through headroom: no `x-headroom-*`
/// header reached it (the proxy strips them; the agent, pointed at the
/// proxy, sends one with every LLM request), each LLM request (a POST)
/// carries `credential` in `header`, and the exit summary counts exactly
/// the requests the mock saw.
pub fn assert_routed_through_headroom(
    mock: &MockUpstream,
    output: &Output,
    header: &str,
    credential: &str,
) {
    let requests = mock.requests();
    assert!(!requests.is_empty(), "the mock saw no request");
    for request in &requests {
        for name in request.headers.keys() {
            assert!(
                !name.as_str().starts_with("x-headroom-"),
                "{name} reached the mock on {}",
                request.target
            );
        }
        if request.method != http::Method::POST {
            continue;
        }
        let sent = request.header(header).unwrap_or_default();
        assert!(
            sent.contains(credential),
            "{} carried {header}: {sent:?}, not the user's credential",
            request.target
        );
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let count = match requests.len() {
        1 => "1 request".to_string(),
        n => format!("{n} requests"),
    };
    assert!(
        stderr.contains(&format!("forwarded through the proxy: {count},")),
        "headroom did not forward the mock's {count}: {stderr}"
    );
}

/// Processes whose environment names `home` as HOME: any of them alive
/// after a run was left behind by it.
pub fn processes_with_home(home: &Path) -> Vec<u32> {
    let wanted = format!("HOME={}", home.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|var| var == wanted.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// After a run: no process of it alive, and no run directory of headroom's
/// left in the sandbox's state dir.
pub fn assert_nothing_left(sandbox: &Sandbox) {
    let home = sandbox.root.path().join("home");
    super::wait_until(
        Duration::from_secs(10),
        "every process of the run to exit",
        || processes_with_home(&home).is_empty(),
    );
    let runs = home.join(".local/state/headroom/run");
    let left: Vec<String> = std::fs::read_dir(&runs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.is_empty(),
        "run directories left in {runs:?}: {left:?}"
    );
}

/// `(path, bytes)` of each file, to compare after a run.
pub fn snapshot(files: &[PathBuf]) -> Vec<(PathBuf, Vec<u8>)> {
    files
        .iter()
        .map(|path| (path.clone(), std::fs::read(path).unwrap_or_default()))
        .collect()
}

pub fn assert_unchanged(before: &[(PathBuf, Vec<u8>)]) {
    for (path, bytes) in before {
        assert_eq!(
            &std::fs::read(path).unwrap_or_default(),
            bytes,
            "{} changed",
            path.display()
        );
    }
}
