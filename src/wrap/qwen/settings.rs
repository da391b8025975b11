//! Qwen Code's settings and environment, read the way Qwen Code 0.24
//! reads them: settings files merged system defaults < user < workspace <
//! system, and variables from the environment, else its `.env` files
//! (which never override the environment).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::UsageError;
use crate::wrap::agent::words_before_dashes;
use crate::wrap::dotenv;
use crate::wrap::environment::Environment;
use crate::wrap::gemini::system_settings_paths;
use crate::wrap::opencode::jsonc::parse_object;
use crate::wrap::opencode::merge::deep_merge;

pub const SYSTEM_SETTINGS_VAR: &str = "QWEN_CODE_SYSTEM_SETTINGS_PATH";
pub const SYSTEM_DEFAULTS_VAR: &str = "QWEN_CODE_SYSTEM_DEFAULTS_PATH";

#[derive(Debug)]
pub struct QwenSettings {
    /// What the system settings file Qwen Code would read holds.
    pub system: Map<String, Value>,
    /// The system defaults file, which moves with the system settings file
    /// unless its own variable names it.
    pub defaults_path: PathBuf,
    /// Every settings file merged.
    pub merged: Map<String, Value>,
    /// Variables from the `.env` files Qwen Code loads, in its order.
    dotenv: Vec<(PathBuf, Vec<(String, String)>)>,
}

impl QwenSettings {
    pub fn read(env: &Environment) -> anyhow::Result<QwenSettings> {
        let (system_path, defaults_path) =
            system_settings_paths(env, SYSTEM_SETTINGS_VAR, SYSTEM_DEFAULTS_VAR, "qwen-code");
        let qwen_home = qwen_home(env);
        let system = read_object(&system_path)?;
        let mut merged = read_object(&defaults_path)?;
        merge(&mut merged, &read_object(&qwen_home.join("settings.json"))?);
        // Qwen Code reads no workspace settings in the home directory.
        if env.cwd != env.home {
            let workspace = env.cwd.join(".qwen/settings.json");
            merge(&mut merged, &read_object(&workspace)?);
        }
        merge(&mut merged, &system);
        let dotenv = env_files(env, &qwen_home)
            .into_iter()
            .filter_map(|path| {
                let text = std::fs::read_to_string(&path).ok()?;
                Some((path, dotenv::parse(&text, &|_| None)))
            })
            .collect();
        Ok(QwenSettings {
            system,
            defaults_path,
            merged,
            dotenv,
        })
    }

    /// The value at `path` (`security.auth.selectedType`) in the merged
    /// settings.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let first = self.merged.get(parts.next()?)?;
        parts.try_fold(first, |value, key| value.get(key))
    }

    pub fn string(&self, path: &str) -> Option<&str> {
        self.get(path)?.as_str().filter(|s| !s.trim().is_empty())
    }

    /// A variable as Qwen Code sees it, and where it came from: the
    /// environment, else the first `.env` file that sets it.
    pub fn var(&self, env: &Environment, name: &str) -> Option<(String, String)> {
        if let Some(value) = env.non_empty(name) {
            return Some((value.to_string(), name.to_string()));
        }
        self.dotenv.iter().find_map(|(path, pairs)| {
            let (_, value) = pairs.iter().rev().find(|(key, _)| key == name)?;
            (!value.is_empty()).then(|| (value.clone(), path.display().to_string()))
        })
    }
}

/// Qwen Code's merge of a higher scope: objects key by key, except
/// `modelProviders`, which a scope that has it replaces whole.
fn merge(merged: &mut Map<String, Value>, scope: &Map<String, Value>) {
    deep_merge(merged, scope);
    if let Some(providers) = scope.get("modelProviders") {
        merged.insert("modelProviders".into(), providers.clone());
    }
}

/// `$QWEN_HOME`, else `~/.qwen`.
fn qwen_home(env: &Environment) -> PathBuf {
    match env.non_empty("QWEN_HOME") {
        Some(dir) => match dir.strip_prefix("~/") {
            Some(rest) => env.home.join(rest),
            None => env.resolve(dir),
        },
        None => env.home.join(".qwen"),
    }
}

/// The nearest project `.qwen/.env` or `.env` (from the working directory
/// up, short of home), then `$QWEN_HOME/.env`, `~/.qwen/.env`, `~/.env`.
fn env_files(env: &Environment, qwen_home: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in env.cwd.ancestors() {
        if dir == env.home {
            break;
        }
        let found = [dir.join(".qwen/.env"), dir.join(".env")]
            .into_iter()
            .find(|path| path.is_file());
        if let Some(path) = found {
            files.push(path);
            break;
        }
    }
    let mut home = vec![qwen_home.join(".env")];
    if qwen_home != env.home.join(".qwen") {
        home.push(env.home.join(".qwen/.env"));
    }
    home.push(env.home.join(".env"));
    for path in home {
        if path.is_file() && !files.contains(&path) {
            files.push(path);
        }
    }
    files
}

fn read_object(path: &Path) -> anyhow::Result<Map<String, Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => {
            return Err(UsageError::new(format!("{}: cannot read: {e}", path.display())).into())
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    parse_object(text, &path.display().to_string())
        .map_err(|e| UsageError::new(e.to_string()).into())
}

/// The value of the first of `names` (`--auth-type`, its camelCase twin,
/// a short form) among the user's arguments to Qwen Code, as `--NAME V`
/// or `--NAME=V`; the last one given wins.
pub fn arg(args: &[OsString], names: &[&str]) -> Option<String> {
    let mut found = None;
    for (word, next) in words_before_dashes(args) {
        for name in names {
            if let Some(value) = word.strip_prefix(&format!("{name}=")) {
                found = Some(value.to_string());
            } else if word == *name {
                found = next.map(str::to_string);
            }
        }
    }
    found
}
