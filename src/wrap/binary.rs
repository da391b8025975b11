//! Where an agent's binary is, and which version it says it is.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::agent::AgentSpec;
use super::child::AgentNotFound;
use super::environment::Environment;

/// How long `--version` may take before the listing gives up on it.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// `--<agent>-bin`, else `HEADROOM_<AGENT>_BIN` (clap fills both into the
/// flag), else the agent's binary on PATH.
pub fn find(spec: &AgentSpec, flag: Option<&Path>, env: &Environment) -> anyhow::Result<PathBuf> {
    let not_found = |what: String| {
        AgentNotFound(format!(
            "{what}: install {} ({}), or name it with --{}-bin PATH or {}",
            spec.title, spec.install, spec.name, spec.bin_var
        ))
    };
    if let Some(path) = flag {
        return which::which(path).map_err(|_| {
            let problem = if path.exists() {
                "is not an executable file"
            } else {
                "does not exist"
            };
            not_found(format!("{} at {} {problem}", spec.binary, path.display())).into()
        });
    }
    on_path(spec, env).ok_or_else(|| not_found(format!("{} not found on PATH", spec.binary)).into())
}

/// The binary as `wrap` would find it without a flag: the variable, else
/// PATH.
pub fn installed(spec: &AgentSpec, env: &Environment) -> Option<PathBuf> {
    match env.non_empty(spec.bin_var) {
        Some(path) => which::which(path).ok(),
        None => on_path(spec, env),
    }
}

fn on_path(spec: &AgentSpec, env: &Environment) -> Option<PathBuf> {
    let search_path = env.var("PATH").unwrap_or_default();
    which::which_in(spec.binary, Some(search_path), &env.cwd).ok()
}

/// The first line `binary --version` prints, if it prints one in time.
pub fn version(binary: &Path) -> Option<String> {
    let mut child = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + VERSION_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let output = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::wrap::environment::testing::{env_in, write};
    use std::os::unix::fs::PermissionsExt as _;

    fn spec() -> AgentSpec {
        AgentSpec {
            name: "fake",
            title: "Fake",
            binary: "fake-agent",
            bin_var: "HEADROOM_FAKE_BIN",
            install: "npm i fake",
            read_setup: |_| anyhow::bail!("unused"),
        }
    }

    fn executable(path: &Path, script: &str) {
        write(path, script);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn flag_then_variable_then_path() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        let bin = root.path().join("bin");
        executable(&bin.join("fake-agent"), "#!/bin/sh\necho 'fake 1.2.3'\n");
        executable(&root.path().join("other"), "#!/bin/sh\n");
        let missing = find(&spec(), None, &env).unwrap_err().to_string();
        assert!(
            missing.contains("fake-agent not found on PATH"),
            "{missing}"
        );
        assert!(missing.contains("HEADROOM_FAKE_BIN"), "{missing}");
        env.vars.insert("PATH".into(), bin.display().to_string());
        assert_eq!(find(&spec(), None, &env).unwrap(), bin.join("fake-agent"));
        let other = root.path().join("other");
        assert_eq!(find(&spec(), Some(&other), &env).unwrap(), other);
        let gone = find(&spec(), Some(Path::new("/nope/x")), &env).unwrap_err();
        assert!(gone.to_string().contains("does not exist"), "{gone}");
        assert_eq!(installed(&spec(), &env), Some(bin.join("fake-agent")));
        env.vars
            .insert("HEADROOM_FAKE_BIN".into(), other.display().to_string());
        assert_eq!(installed(&spec(), &env), Some(other));
        assert_eq!(
            version(&bin.join("fake-agent")).as_deref(),
            Some("fake 1.2.3")
        );
    }
}
