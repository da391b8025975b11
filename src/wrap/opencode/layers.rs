//! Finds opencode's config layers and merges them in opencode's order.
//!
//! Not read: the remote `.well-known/opencode` configs of `wellknown` auth
//! entries and the account/org config. Both need the network, and both sit
//! below `OPENCODE_CONFIG_CONTENT`, so the overlay still wins over them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::auth::{self, AuthKind};
use super::catalog::Catalog;
use super::environment::Environment;
use super::error::ConfigError;
use super::jsonc::parse_object;
use super::merge::deep_merge;
use super::substitute::{substitute, Source};

pub(crate) const CONTENT_VAR: &str = "OPENCODE_CONFIG_CONTENT";
const DIR_FILES: [&str; 2] = ["opencode.json", "opencode.jsonc"];

/// What opencode would run with: the merged config, the kinds of its stored
/// credentials and the provider catalog.
#[derive(Debug, Clone)]
pub struct UserConfig {
    pub(crate) merged: Map<String, Value>,
    pub(crate) auth: BTreeMap<String, AuthKind>,
    pub(crate) catalog: Catalog,
    pub(crate) sources: Vec<String>,
}

impl UserConfig {
    /// The files (and `OPENCODE_CONFIG_CONTENT`) that contributed, lowest first.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }
}

#[cfg(test)]
impl UserConfig {
    /// A config as if loaded, over the built-in catalog.
    pub(crate) fn from_parts(merged: Value, auth: &[(&str, AuthKind)]) -> UserConfig {
        UserConfig {
            merged: merged.as_object().cloned().unwrap_or_default(),
            auth: auth
                .iter()
                .map(|(id, kind)| (id.to_string(), *kind))
                .collect(),
            catalog: Catalog::built_in(),
            sources: Vec::new(),
        }
    }
}

enum Layer {
    File(PathBuf),
    Content(String),
}

pub fn load(env: &Environment) -> Result<UserConfig, ConfigError> {
    let mut merged = Map::new();
    let mut sources = Vec::new();
    for layer in layers(env) {
        if let Some((name, object)) = read_layer(&layer, env)? {
            deep_merge(&mut merged, &object);
            sources.push(name);
        }
    }
    Ok(UserConfig {
        merged,
        auth: auth::load(env),
        catalog: Catalog::load(env),
        sources,
    })
}

/// Existing managed config files, which opencode applies over everything,
/// the overlay included.
pub fn managed_configs(env: &Environment) -> Vec<PathBuf> {
    managed_files(env)
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
}

/// Every candidate layer, lowest precedence first.
fn layers(env: &Environment) -> Vec<Layer> {
    let global = env.xdg_dir("XDG_CONFIG_HOME", ".config").join("opencode");
    let mut files: Vec<PathBuf> = ["config.json", "opencode.json", "opencode.jsonc"]
        .iter()
        .map(|name| global.join(name))
        .collect();
    if let Some(path) = env.non_empty("OPENCODE_CONFIG") {
        files.push(env.resolve(path));
    }
    let project = if env.flag("OPENCODE_DISABLE_PROJECT_CONFIG") {
        Vec::new()
    } else {
        project_dirs(&env.cwd)
    };
    for dir in project.iter().chain(&dot_dirs(env, &project)) {
        files.extend(DIR_FILES.iter().map(|name| dir.join(name)));
    }
    let mut layers: Vec<Layer> = files.into_iter().map(Layer::File).collect();
    if let Some(text) = env.non_empty(CONTENT_VAR) {
        layers.push(Layer::Content(text.to_string()));
    }
    layers.extend(managed_files(env).into_iter().map(Layer::File));
    layers
}

fn managed_files(env: &Environment) -> Vec<PathBuf> {
    DIR_FILES
        .iter()
        .map(|name| env.system_config.join("opencode").join(name))
        .collect()
}

/// The directories from the git worktree root (the nearest one holding
/// `.git`, else the filesystem root) down to `cwd`, farthest first.
fn project_dirs(cwd: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for dir in cwd.ancestors() {
        dirs.push(dir.to_path_buf());
        if dir.join(".git").exists() {
            break;
        }
    }
    dirs.reverse();
    dirs
}

/// `.opencode` dirs of the project (farthest first), `~/.opencode`, then
/// `OPENCODE_CONFIG_DIR`; a directory reached twice loads once, at its first place.
fn dot_dirs(env: &Environment, project: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = project.iter().map(|d| d.join(".opencode")).collect();
    dirs.push(env.home.join(".opencode"));
    if let Some(dir) = env.non_empty("OPENCODE_CONFIG_DIR") {
        dirs.push(env.resolve(dir));
    }
    let mut unique: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        if !unique.contains(&dir) {
            unique.push(dir);
        }
    }
    unique
}

/// A layer's name (a path or the variable) and its contents.
type Loaded = (String, Map<String, Value>);

/// The layer's name and object, or `None` for a file that does not exist.
fn read_layer(layer: &Layer, env: &Environment) -> Result<Option<Loaded>, ConfigError> {
    let (name, dir, text) = match layer {
        Layer::Content(text) => (CONTENT_VAR.to_string(), env.cwd.as_path(), text.clone()),
        Layer::File(path) => {
            let name = path.display().to_string();
            let text = match std::fs::read(path) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(ConfigError::whole(name, format!("cannot read: {e}"))),
            };
            (name, path.parent().unwrap_or(Path::new("/")), text)
        }
    };
    let source = Source { name: &name, dir };
    let text = substitute(&text, &source, env)?;
    let object = parse_object(&text, &name)?;
    Ok(Some((name, object)))
}

#[cfg(test)]
mod tests;
