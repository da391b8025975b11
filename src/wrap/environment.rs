//! A snapshot of the process state that agents' config loading reads, so
//! tests can build one by hand instead of touching the real environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Where system-wide (admin) agent configs live.
const SYSTEM_CONFIG_DIR: &str = "/etc";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub vars: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub home: PathBuf,
    /// Where system-wide (admin) configs live, normally `/etc`.
    pub system_config: PathBuf,
}

impl Environment {
    pub fn from_process() -> anyhow::Result<Environment> {
        let vars: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let real_cwd = std::env::current_dir().context("cannot read the current directory")?;
        let cwd = project_dir(vars.get("PWD").map(Path::new), real_cwd);
        let home = vars
            .get("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .context("HOME is not set")?;
        Ok(Environment {
            vars,
            cwd,
            home,
            system_config: PathBuf::from(SYSTEM_CONFIG_DIR),
        })
    }

    /// The variable's value, empty or not.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The variable's value when it is set to something non-empty.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.var(name).filter(|v| !v.is_empty())
    }

    /// opencode's boolean flags count only `true` and `1`.
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.var(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    }

    /// An XDG base directory for headroom's own files: `$VAR` if it is an
    /// absolute path, else `$HOME/<fallback>`. The spec makes a relative
    /// value invalid, to be ignored, as `crate::xdg` does.
    pub(crate) fn xdg_dir(&self, var: &str, fallback: &str) -> PathBuf {
        match self.non_empty(var).map(Path::new) {
            Some(dir) if dir.is_absolute() => dir.to_path_buf(),
            _ => self.home.join(fallback),
        }
    }

    /// An XDG base directory where opencode and Kilo look: their
    /// `xdg-basedir` takes any value, a relative one from the working
    /// directory, so the files read for them must be those too.
    pub(crate) fn agent_xdg_dir(&self, var: &str, fallback: &str) -> PathBuf {
        match self.non_empty(var) {
            Some(dir) => self.resolve(dir),
            None => self.home.join(fallback),
        }
    }

    /// `path` made absolute against the working directory.
    pub(crate) fn resolve(&self, path: &str) -> PathBuf {
        self.cwd.join(path)
    }
}

/// opencode takes its project directory from `$PWD`; keep that (it may name
/// the directory through a symlink) when it is the same directory we run in.
fn project_dir(pwd: Option<&Path>, real_cwd: PathBuf) -> PathBuf {
    let same = |pwd: &Path| {
        pwd.is_absolute()
            && std::fs::canonicalize(pwd).ok() == std::fs::canonicalize(&real_cwd).ok()
    };
    match pwd {
        Some(pwd) if same(pwd) => pwd.to_path_buf(),
        _ => real_cwd,
    }
}

#[cfg(test)]
pub(crate) mod testing {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// An environment rooted in a temp dir: home, cwd and system dir all
    /// inside `root`, no variables. `root` holds a `.git` so that project
    /// lookups never walk into the real filesystem above it.
    pub fn env_in(root: &Path) -> Environment {
        let env = Environment {
            vars: BTreeMap::new(),
            cwd: root.join("work"),
            home: root.join("home"),
            system_config: root.join("etc"),
        };
        for dir in [&env.cwd, &env.home, &env.system_config, &root.join(".git")] {
            std::fs::create_dir_all(dir).unwrap();
        }
        env
    }

    pub fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Config layer `i` of the layers `names`: it sets keys `k<i>..k<n-1>`
    /// to its own name, so each `k<j>` ends up naming layer `j` only when
    /// every layer overrides the ones before it.
    pub fn staircase(names: &[&str], i: usize) -> String {
        let keys: Vec<String> = (i..names.len())
            .map(|j| format!("\"k{j}\": \"{}\"", names[i]))
            .collect();
        format!("{{ {} }}", keys.join(", "))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn pwd_is_kept_only_when_it_names_the_same_directory() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let other = dir.path().join("other");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        assert_eq!(project_dir(Some(&link), real.clone()), link);
        assert_eq!(project_dir(Some(&other), real.clone()), real);
        assert_eq!(project_dir(Some(Path::new("rel")), real.clone()), real);
        assert_eq!(project_dir(None, real.clone()), real);
    }

    #[test]
    fn flags_and_xdg_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = testing::env_in(dir.path());
        env.vars.insert("A".into(), "TRUE".into());
        env.vars.insert("B".into(), "yes".into());
        env.vars.insert("XDG_CONFIG_HOME".into(), String::new());
        assert!(env.flag("A"));
        assert!(!env.flag("B"));
        assert!(!env.flag("C"));
        assert_eq!(
            env.xdg_dir("XDG_CONFIG_HOME", ".config"),
            env.home.join(".config")
        );
        env.vars.insert("XDG_CONFIG_HOME".into(), "/x".into());
        assert_eq!(env.xdg_dir("XDG_CONFIG_HOME", ".config"), Path::new("/x"));
        assert_eq!(
            env.agent_xdg_dir("XDG_CONFIG_HOME", ".config"),
            Path::new("/x")
        );
    }

    #[test]
    fn a_relative_xdg_dir_is_ignored_for_headroom_but_not_for_the_agent() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = testing::env_in(dir.path());
        env.vars.insert("XDG_STATE_HOME".into(), "state".into());
        assert_eq!(
            env.xdg_dir("XDG_STATE_HOME", ".local/state"),
            env.home.join(".local/state")
        );
        assert_eq!(
            env.agent_xdg_dir("XDG_STATE_HOME", ".local/state"),
            env.cwd.join("state")
        );
    }
}
