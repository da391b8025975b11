//! The variables aider's process ends up with before litellm reads its
//! base URLs, worked out the way aider 0.86 does it: the environment, then
//! its `.env` files (each overriding what came before), then `set-env`,
//! then `openai-api-base`. Options come from the command line, else an
//! `AIDER_*` variable, else the first `.aider.conf.yml` that has them
//! (`--config`, the working directory, the git root, home).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use super::expansion::expanded_values;
use crate::error::UsageError;
use crate::wrap::dotenv;
use crate::wrap::environment::Environment;

/// A variable's value and where aider would have taken it from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub value: String,
    pub from: String,
}

#[derive(Debug, Default)]
pub struct AiderSettings {
    /// Every variable as aider leaves it for litellm.
    pub vars: BTreeMap<String, Found>,
    /// The `.env` files aider loads, in order, with the names each sets.
    pub dotenv: Vec<(PathBuf, Vec<String>)>,
    /// The env file the user names in a config file or `AIDER_ENV_FILE`,
    /// when it is none of aider's own `.env` files: one more `--env-file`
    /// replaces it, so its lines must be carried over.
    pub named_env_file: Option<PathBuf>,
    /// The user's own arguments name `--env-file`, which would replace one
    /// headroom adds.
    pub env_file_in_args: bool,
    /// The names `set-env` sets, applied after every `.env` file, with
    /// where that `set-env` is.
    pub set_env: Vec<(String, String)>,
}

/// Where an option's value came from.
struct Setting {
    values: Vec<String>,
    from: String,
}

const ARGS: &str = "your aider arguments";

impl AiderSettings {
    pub fn read(env: &Environment, args: &[OsString]) -> anyhow::Result<AiderSettings> {
        let args: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
        let git_root = git_root(&env.cwd);
        let configs = config_files(env, &args, git_root.as_deref())?;
        let process = |name: &str| env.var(name).map(str::to_string);
        let env_file = setting("env-file", &args, &process, &configs);
        let mut settings = AiderSettings {
            env_file_in_args: env_file.as_ref().is_some_and(|s| s.from == ARGS),
            ..AiderSettings::default()
        };
        let named = env_file
            .as_ref()
            .and_then(|s| s.values.last())
            .map_or_else(|| env.cwd.join(".env"), |file| env.resolve(file));
        let defaults = dotenv_defaults(env, git_root.as_deref());
        if env_file.as_ref().is_some_and(|s| s.from != ARGS) && !defaults.contains(&named) {
            settings.named_env_file = Some(named.clone());
        }
        settings.vars = env
            .vars
            .iter()
            .map(|(name, value)| {
                let found = Found {
                    value: value.clone(),
                    from: "the environment".into(),
                };
                (name.clone(), found)
            })
            .collect();
        let oauth = env.home.join(".aider/oauth-keys.env");
        let mut files: Vec<PathBuf> = oauth.is_file().then_some(oauth).into_iter().collect();
        files.extend(defaults);
        files.push(named);
        for file in dedup_keeping_last(files) {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let known = |name: &str| settings.vars.get(name).map(|f| f.value.clone());
            let pairs = dotenv::parse(&text, &known);
            let from = file.display().to_string();
            let names = pairs.iter().map(|(name, _)| name.clone()).collect();
            for (name, value) in pairs {
                let found = Found {
                    value,
                    from: from.clone(),
                };
                settings.vars.insert(name, found);
            }
            settings.dotenv.push((file, names));
        }
        // Parsed again after the .env files, so AIDER_* variables they set count.
        let vars = settings.vars.clone();
        let current = |name: &str| vars.get(name).map(|f| f.value.clone());
        if let Some(set_env) = setting("set-env", &args, &current, &configs) {
            for entry in &set_env.values {
                if let Some((name, value)) = entry.split_once('=') {
                    let name = name.trim().to_string();
                    let found = Found {
                        value: value.trim().to_string(),
                        from: format!("set-env in {}", set_env.from),
                    };
                    settings.vars.insert(name.clone(), found);
                    settings.set_env.push((name, set_env.from.clone()));
                }
            }
        }
        if let Some(base) = setting("openai-api-base", &args, &current, &configs) {
            if let Some(value) = base.values.last().filter(|v| !v.is_empty()) {
                let found = Found {
                    value: value.clone(),
                    from: format!("openai-api-base in {}", base.from),
                };
                settings.vars.insert("OPENAI_API_BASE".into(), found);
            }
        }
        Ok(settings)
    }

    /// The first of `names` set to something, as litellm picks among them.
    pub fn first<'a>(&self, names: &[&'a str]) -> Option<(&'a str, &Found)> {
        names.iter().find_map(|name| {
            let found = self.vars.get(*name)?;
            (!found.value.trim().is_empty()).then_some((*name, found))
        })
    }

    /// The `.env` files that set `name`.
    pub fn dotenv_setting(&self, name: &str) -> Vec<&Path> {
        self.dotenv
            .iter()
            .filter(|(_, names)| names.iter().any(|n| n == name))
            .map(|(path, _)| path.as_path())
            .collect()
    }
}

/// A config file's top-level keys.
type Config = (String, yaml_rust2::yaml::Hash);

/// The most values a config file may hold once its aliases are expanded:
/// a real one has tens.
const MAX_CONFIG_VALUES: u64 = 100_000;

/// `--config` (or `AIDER_CONFIG`), then `.aider.conf.yml` in the working
/// directory, the git root and home: those that exist, first wins.
fn config_files(
    env: &Environment,
    args: &[&str],
    git_root: Option<&Path>,
) -> anyhow::Result<Vec<Config>> {
    let name = ".aider.conf.yml";
    let mut paths = Vec::new();
    let named = last_value(args, &["--config", "-c"])
        .or_else(|| env.non_empty("AIDER_CONFIG").map(str::to_string));
    if let Some(file) = named {
        paths.push(env.resolve(&file));
    }
    paths.push(env.cwd.join(name));
    if let Some(root) = git_root {
        paths.push(root.join(name));
    }
    paths.push(env.home.join(name));
    let mut configs = Vec::new();
    for path in dedup_keeping_first(paths) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let not_yaml = |e| UsageError::new(format!("{}: not valid YAML: {e}", path.display()));
        // Loading copies each alias's value: bounded first.
        if expanded_values(&text).map_err(not_yaml)? > MAX_CONFIG_VALUES {
            return Err(UsageError::new(format!(
                "{}: its YAML aliases expand to over {MAX_CONFIG_VALUES} values, which no aider config needs; remove the aliases",
                path.display()
            ))
            .into());
        }
        let docs = YamlLoader::load_from_str(&text).map_err(not_yaml)?;
        let hash = match docs.into_iter().next() {
            Some(Yaml::Hash(hash)) => hash,
            _ => continue,
        };
        configs.push((path.display().to_string(), hash));
    }
    Ok(configs)
}

/// An option from the command line, else `AIDER_<KEY>`, else the first
/// config file that has it.
fn setting(
    key: &str,
    args: &[&str],
    var: &dyn Fn(&str) -> Option<String>,
    configs: &[Config],
) -> Option<Setting> {
    let flag = format!("--{key}");
    let in_args = values(args, &[&flag]);
    if !in_args.is_empty() {
        return Some(Setting {
            values: in_args,
            from: ARGS.into(),
        });
    }
    let name = format!("AIDER_{}", key.to_ascii_uppercase().replace('-', "_"));
    if let Some(value) = var(&name).filter(|v| !v.is_empty()) {
        return Some(Setting {
            values: env_list(&value),
            from: name,
        });
    }
    configs.iter().find_map(|(path, hash)| {
        let value = hash.get(&Yaml::String(key.to_string()))?;
        Some(Setting {
            values: yaml_values(value),
            from: path.clone(),
        })
    })
}

/// How configargparse reads a list option from a variable: `[a, b]` or
/// one value.
fn env_list(value: &str) -> Vec<String> {
    match value
        .trim()
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
    {
        Some(inner) => inner
            .split(',')
            .map(|item| item.trim().trim_matches(['"', '\'']).to_string())
            .filter(|item| !item.is_empty())
            .collect(),
        None => vec![value.to_string()],
    }
}

fn yaml_values(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::Array(items) => items.iter().flat_map(yaml_values).collect(),
        Yaml::String(s) | Yaml::Real(s) => vec![s.clone()],
        Yaml::Integer(n) => vec![n.to_string()],
        Yaml::Boolean(b) => vec![b.to_string()],
        _ => Vec::new(),
    }
}

/// Every value of the flags among `args` (`--flag V` or `--flag=V`), up
/// to a `--`.
fn values(args: &[&str], flags: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if *word == "--" {
            break;
        }
        for flag in flags {
            if word == flag {
                if let Some(value) = words.clone().next() {
                    found.push(value.to_string());
                }
            } else if let Some(value) = word.strip_prefix(&format!("{flag}=")) {
                found.push(value.to_string());
            }
        }
    }
    found
}

fn last_value(args: &[&str], flags: &[&str]) -> Option<String> {
    values(args, flags).pop()
}

/// aider's own `.env` files: home, the git root, the working directory.
fn dotenv_defaults(env: &Environment, git_root: Option<&Path>) -> Vec<PathBuf> {
    let mut files = vec![env.home.join(".env")];
    files.extend(git_root.map(|root| root.join(".env")));
    files.push(env.cwd.join(".env"));
    dedup_keeping_last(files)
}

/// The directory holding `.git`, from `dir` up, as GitPython finds it.
fn git_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

fn dedup_keeping_last(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for path in paths.into_iter().rev() {
        if !out.contains(&path) {
            out.push(path);
        }
    }
    out.reverse();
    out
}

fn dedup_keeping_first(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for path in paths {
        if !out.contains(&path) {
            out.push(path);
        }
    }
    out
}
