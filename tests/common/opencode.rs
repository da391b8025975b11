//! The real opencode binary, run offline and isolated: its own HOME and XDG
//! dirs in a temp dir, no catalog download, npm pointed at a closed port.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The opencode binary build.rs found: `HEADROOM_TEST_OPENCODE`, else
/// opencode-ai's package for this platform under target/test-deps. A test
/// only gets here without one when `CI` or `HEADROOM_E2E` requires the
/// e2e tests (or `--include-ignored` runs them), and then it fails saying
/// why. Each e2e test carries
/// `#[cfg_attr(opencode_missing, ignore = "...")]`, build.rs's verdict.
pub fn binary() -> PathBuf {
    match option_env!("HEADROOM_TEST_OPENCODE_BIN") {
        Some(path) => PathBuf::from(path),
        None => panic!(
            "opencode not found at {}: install it with `npm install --prefix target/test-deps --ignore-scripts opencode-ai@1.18.33`, or name it with HEADROOM_TEST_OPENCODE",
            env!("HEADROOM_TEST_OPENCODE_EXPECTED")
        ),
    }
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
