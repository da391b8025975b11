//! The real opencode binary, run offline and isolated: its own HOME and XDG
//! dirs in a temp dir, no catalog download, npm pointed at a closed port.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where `.ci/run` installs opencode for the tests.
const INSTALLED: &str = "target/test-deps/node_modules/opencode-linux-x64/bin/opencode";

/// The opencode binary: `HEADROOM_TEST_OPENCODE`, else the one `.ci/run`
/// installs. When neither exists the test is skipped with a note, unless
/// `CI` or `HEADROOM_E2E` is set, where a missing binary is a failure.
pub fn binary() -> Option<PathBuf> {
    let candidate = std::env::var_os("HEADROOM_TEST_OPENCODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(INSTALLED));
    if candidate.is_file() {
        return Some(candidate);
    }
    let required = ["CI", "HEADROOM_E2E"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    assert!(
        !required,
        "opencode not found at {} (run .ci/run, or npm install opencode-ai@1.18.33 and set HEADROOM_TEST_OPENCODE)",
        candidate.display()
    );
    eprintln!(
        "skipped: opencode not installed at {} (.ci/run installs it)",
        candidate.display()
    );
    None
}

/// An isolated home and project for one opencode run.
pub struct Sandbox {
    pub root: tempfile::TempDir,
    pub env: BTreeMap<String, String>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let root = tempfile::tempdir().expect("tempdir");
        let path = |sub: &str| root.path().join(sub).to_string_lossy().into_owned();
        let mut env = BTreeMap::new();
        for (name, sub) in [
            ("HOME", "home"),
            ("XDG_CONFIG_HOME", "home/.config"),
            ("XDG_DATA_HOME", "home/.local/share"),
            ("XDG_CACHE_HOME", "home/.cache"),
            ("XDG_STATE_HOME", "home/.local/state"),
        ] {
            std::fs::create_dir_all(path(sub)).expect("mkdir");
            env.insert(name.to_string(), path(sub));
        }
        std::fs::create_dir_all(root.path().join("project/.git")).expect("mkdir project");
        env.insert("OPENCODE_DISABLE_MODELS_FETCH".into(), "1".into());
        env.insert("OPENCODE_DISABLE_AUTOUPDATE".into(), "1".into());
        env.insert("npm_config_registry".into(), "http://127.0.0.1:9/".into());
        env.insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
        env.insert("PWD".into(), path("project"));
        env.insert("TERM".into(), "dumb".into());
        Sandbox { root, env }
    }

    pub fn project(&self) -> PathBuf {
        self.root.path().join("project")
    }

    pub fn write_project_config(&self, json: &serde_json::Value) -> PathBuf {
        let file = self.project().join("opencode.json");
        std::fs::write(&file, serde_json::to_string_pretty(json).expect("json")).expect("write");
        file
    }

    /// `headroom ARGS` in the project dir with only this sandbox's env.
    pub fn headroom(&self, args: &[&str]) -> Command {
        let mut command = Command::new(super::BIN);
        command
            .args(args)
            .current_dir(self.project())
            .env_clear()
            .envs(&self.env)
            .stdin(Stdio::null());
        command
    }

    pub fn run_headroom(&self, args: &[&str]) -> Output {
        self.headroom(args).output().expect("run headroom")
    }
}

/// The `$schema` opencode adds to a config file that lacks one; with it
/// present, opencode leaves the file alone.
pub const SCHEMA: &str = "https://opencode.ai/config.json";
