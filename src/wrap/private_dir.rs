//! The private directory that holds a run's overlay files: only the user
//! can enter it, it is removed when the run ends, and one left behind by a
//! killed run is removed at the next start.
//!
//! Each run's directory holds a lock file that the run keeps locked while
//! it lives; the kernel drops the lock when the process dies, however it
//! dies, so an unlocked directory belongs to no live run.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use rustix::fs::{flock, FlockOperation};

use super::agent::OverlayFile;
use super::environment::Environment;
use crate::xdg;

/// Every run directory's name starts with this.
const PREFIX: &str = "wrap-";
const LOCK: &str = ".lock";
/// A directory without its lock file may be a run starting right now; only
/// one older than this is taken for stale.
const UNLOCKED_GRACE: Duration = Duration::from_secs(60);

/// Where run directories go: `$XDG_RUNTIME_DIR/headroom`, else
/// `$XDG_STATE_HOME/headroom/run` (`~/.local/state/headroom/run`). Neither
/// is a world-writable directory such as /tmp, which some agents refuse
/// to read settings from.
pub fn base(env: &Environment) -> PathBuf {
    match env.non_empty("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(runtime) if runtime.is_absolute() && runtime.is_dir() => runtime.join("headroom"),
        _ => env
            .xdg_dir("XDG_STATE_HOME", ".local/state")
            .join("headroom/run"),
    }
}

/// This run's directory, named but not yet created.
pub fn reserve(env: &Environment) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    base(env).join(format!("{PREFIX}{}-{nanos:09}", std::process::id()))
}

/// A created run directory with its files; removed on drop.
pub struct RunDir {
    path: PathBuf,
    _lock: File,
}

impl RunDir {
    /// Creates `path` (from [`reserve`]), only the user's, and writes `files`.
    pub fn create(path: &Path, files: &[OverlayFile]) -> anyhow::Result<RunDir> {
        if let Some(base) = path.parent() {
            create_base(base)?;
        }
        RunDir::populate(path, files)
            .with_context(|| format!("could not write overlay files into {}", path.display()))
    }

    fn populate(path: &Path, files: &[OverlayFile]) -> io::Result<RunDir> {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new().mode(0o700).create(path)?;
        let run = RunDir {
            path: path.to_path_buf(),
            _lock: lock(&path.join(LOCK))?,
        };
        for file in files {
            write_private(&path.join(&file.name), file.contents.real.as_bytes())?;
        }
        Ok(run)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(dir = %self.path.display(), error = %e, "could not remove the run's directory");
        }
    }
}

/// Creates `base`, where every run's directory goes, only the user's.
fn create_base(base: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    // Said plainly: creating it would fail with a bare "File exists".
    if let Some(file) = xdg::file_in_the_way(base) {
        anyhow::bail!(
            "cannot create {} for the run's private files: {} is not a directory; move it away or remove it",
            base.display(),
            file.display()
        );
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(base)
        .with_context(|| format!("could not create {}", base.display()))
}

/// Removes the run directories under `base` whose run is gone.
pub fn remove_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_run = name.to_string_lossy().starts_with(PREFIX);
        if is_run && is_stale(&entry.path()) {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => {
                    tracing::info!(dir = %entry.path().display(), "removed a killed run's directory")
                }
                Err(e) => {
                    tracing::warn!(dir = %entry.path().display(), error = %e, "could not remove a killed run's directory")
                }
            }
        }
    }
}

fn is_stale(dir: &Path) -> bool {
    match File::open(dir.join(LOCK)) {
        Ok(file) => flock(&file, FlockOperation::NonBlockingLockExclusive).is_ok(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .is_ok_and(|at| at.elapsed().is_ok_and(|age| age > UNLOCKED_GRACE)),
        Err(_) => false,
    }
}

fn lock(path: &Path) -> io::Result<File> {
    let file = File::create(path)?;
    flock(&file, FlockOperation::NonBlockingLockExclusive)?;
    Ok(file)
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::wrap::agent::Shown;
    use crate::wrap::environment::testing::env_in;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_run_dir_is_private_holds_its_files_and_goes_away() {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        let path = reserve(&env);
        assert!(path.starts_with(env.home.join(".local/state/headroom/run")));
        let file = OverlayFile {
            name: "settings.json".into(),
            contents: Shown::masked("{\"k\":\"secret\"}", "{\"k\":\"***\"}"),
        };
        let run = RunDir::create(&path, &[file]).unwrap();
        assert_eq!(mode(&path), 0o700);
        assert_eq!(mode(&path.join("settings.json")), 0o600);
        assert_eq!(
            std::fs::read_to_string(path.join("settings.json")).unwrap(),
            "{\"k\":\"secret\"}"
        );
        // Alive: the sweep leaves it.
        remove_stale(&base(&env));
        assert!(path.exists());
        drop(run);
        assert!(!path.exists());
    }

    #[test]
    fn a_dead_runs_dir_is_swept_and_a_fresh_unlocked_one_is_not() {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        let base = base(&env);
        let dead = base.join("wrap-1-000000001");
        std::fs::create_dir_all(&dead).unwrap();
        // Locked by nobody: its run is gone.
        File::create(dead.join(LOCK)).unwrap();
        std::fs::write(dead.join("settings.json"), "x").unwrap();
        let starting = base.join("wrap-2-000000002");
        std::fs::create_dir_all(&starting).unwrap();
        let other = base.join("not-a-run");
        std::fs::create_dir_all(&other).unwrap();
        remove_stale(&base);
        assert!(!dead.exists());
        assert!(starting.exists(), "a run that is just starting was removed");
        assert!(other.exists());
    }

    #[test]
    fn a_file_where_the_runs_go_is_named_with_what_to_do() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        let message = |env: &Environment| match RunDir::create(&reserve(env), &[]) {
            Ok(_) => panic!("a run directory was created"),
            Err(error) => format!("{error:#}"),
        };
        // Under the state directory, a parent is in the way.
        let state = env.home.join(".local/state/headroom");
        std::fs::create_dir_all(state.parent().unwrap()).unwrap();
        std::fs::write(&state, "").unwrap();
        assert_eq!(
            message(&env),
            format!(
                "cannot create {} for the run's private files: {} is not a directory; move it away or remove it",
                state.join("run").display(),
                state.display()
            )
        );
        let runtime = root.path().join("run-user");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::write(runtime.join("headroom"), "").unwrap();
        env.vars
            .insert("XDG_RUNTIME_DIR".into(), runtime.display().to_string());
        let base = runtime.join("headroom");
        assert_eq!(
            message(&env),
            format!(
                "cannot create {0} for the run's private files: {0} is not a directory; move it away or remove it",
                base.display()
            )
        );
    }

    #[test]
    fn the_runtime_dir_is_preferred() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        let runtime = root.path().join("run-user");
        std::fs::create_dir_all(&runtime).unwrap();
        env.vars
            .insert("XDG_RUNTIME_DIR".into(), runtime.display().to_string());
        assert_eq!(base(&env), runtime.join("headroom"));
        env.vars
            .insert("XDG_RUNTIME_DIR".into(), "relative".to_string());
        assert_eq!(base(&env), env.home.join(".local/state/headroom/run"));
    }
}
