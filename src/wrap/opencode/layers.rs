//! Finds the config layers of an opencode-family agent and merges them in
//! its order, under the names it uses ([`ConfigNames`]).
//!
//! Not read: the remote `.well-known/opencode` configs of `wellknown` auth
//! entries and the account/org config. Both need the network, and both sit
//! below the inline config content, so the overlay still wins over them.
//! Kilo also reads the config dirs of a linked git worktree's main checkout,
//! and rules and modes of its VS Code extension; none of these is read here
//! (the latter hold no providers).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::auth::{self, AuthKind};
use super::catalog::Catalog;
use super::environment::Environment;
use super::error::ConfigError;
use super::jsonc::parse_object;
use super::merge::deep_merge;
use super::names::ConfigNames;
use super::substitute::{substitute, Source};

/// What the agent would run with: the merged config, the kinds of its
/// stored credentials and the provider catalog.
#[derive(Debug, Clone)]
pub struct UserConfig {
    pub(crate) names: &'static ConfigNames,
    pub(crate) merged: Map<String, Value>,
    pub(crate) auth: BTreeMap<String, AuthKind>,
    pub(crate) catalog: Catalog,
    pub(crate) sources: Vec<String>,
}

impl UserConfig {
    /// The files (and the inline content) that contributed, lowest first.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }
}

#[cfg(test)]
impl UserConfig {
    /// An opencode config as if loaded, over the built-in catalog.
    pub(crate) fn from_parts(merged: Value, auth: &[(&str, AuthKind)]) -> UserConfig {
        UserConfig::from_parts_of(&super::names::OPENCODE, merged, auth)
    }

    pub(crate) fn from_parts_of(
        names: &'static ConfigNames,
        merged: Value,
        auth: &[(&str, AuthKind)],
    ) -> UserConfig {
        UserConfig {
            names,
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

pub fn load(env: &Environment, names: &'static ConfigNames) -> Result<UserConfig, ConfigError> {
    let mut merged = Map::new();
    let mut sources = Vec::new();
    for layer in layers(env, names) {
        if let Some((name, object)) = read_layer(&layer, env, names)? {
            deep_merge(&mut merged, &object);
            sources.push(name);
        }
    }
    let mut catalog = Catalog::load(env, names);
    if let Some(sdk) = &names.own_sdk {
        catalog.set_api(names.own_provider, (sdk.default_base)(env));
    }
    Ok(UserConfig {
        names,
        merged,
        auth: auth::load(env, names),
        catalog,
        sources,
    })
}

/// Existing managed config files, which the agent applies over
/// everything, the overlay included.
pub fn managed_configs(env: &Environment, names: &ConfigNames) -> Vec<PathBuf> {
    managed_files(env, names)
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
}

/// Every candidate layer, lowest precedence first.
fn layers(env: &Environment, names: &ConfigNames) -> Vec<Layer> {
    let global = env
        .agent_xdg_dir("XDG_CONFIG_HOME", ".config")
        .join(names.app_dir);
    let mut files: Vec<PathBuf> = names
        .global_files
        .iter()
        .map(|name| global.join(name))
        .collect();
    if let Some(path) = env.non_empty(names.config_var) {
        files.push(env.resolve(path));
    }
    let project = if env.flag(names.disable_project_var) {
        Vec::new()
    } else {
        project_dirs(&env.cwd)
    };
    for stem in names.project_stems {
        for dir in &project {
            files.push(dir.join(format!("{stem}.json")));
            files.push(dir.join(format!("{stem}.jsonc")));
        }
    }
    for dir in dot_dirs(env, names, &project) {
        files.extend(names.dir_files.iter().map(|name| dir.join(name)));
    }
    let mut layers: Vec<Layer> = files.into_iter().map(Layer::File).collect();
    if let Some(text) = env.non_empty(names.content_var) {
        layers.push(Layer::Content(text.to_string()));
    }
    layers.extend(managed_files(env, names).into_iter().map(Layer::File));
    layers
}

fn managed_files(env: &Environment, names: &ConfigNames) -> Vec<PathBuf> {
    names
        .dir_files
        .iter()
        .map(|name| env.system_config.join(names.app_dir).join(name))
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

/// The config dirs (`.opencode`) of the project, nearest first (so the
/// farthest wins, as observed with opencode 1.18.33 and Kilo 7.7.7), the
/// home's, then the one the user names; a directory reached twice loads
/// once, at its first place.
fn dot_dirs(env: &Environment, names: &ConfigNames, project: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for dir in project.iter().rev().chain([&env.home]) {
        dirs.extend(names.dot_dirs.iter().map(|name| dir.join(name)));
    }
    if let Some(dir) = env.non_empty(names.config_dir_var) {
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
fn read_layer(
    layer: &Layer,
    env: &Environment,
    names: &ConfigNames,
) -> Result<Option<Loaded>, ConfigError> {
    let (name, dir, text) = match layer {
        Layer::Content(text) => (
            names.content_var.to_string(),
            env.cwd.as_path(),
            text.clone(),
        ),
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
