//! Which model provider Codex would use: `$CODEX_HOME/config.toml` (default
//! `~/.codex`), its active profile, and for the built-in OpenAI provider,
//! whether `auth.json` holds a ChatGPT login or an API key.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

use crate::error::UsageError;
use crate::wrap::agent::words_before_dashes;
use crate::wrap::environment::Environment;

pub const OPENAI_API: &str = "https://api.openai.com/v1";
/// A ChatGPT login's requests go to `https://chatgpt.com/backend-api/codex`.
pub const CHATGPT_ORIGIN: &str = "https://chatgpt.com";
pub const CHATGPT_PATH: &str = "/backend-api/codex";
/// Codex's built-in providers besides OpenAI: local servers it starts or
/// finds itself.
const LOCAL_BUILT_INS: [&str; 3] = ["oss", "ollama", "lmstudio"];

#[derive(Debug)]
pub struct CodexConfig {
    pub provider_id: String,
    /// The profile in effect, when one is.
    pub profile: Option<String>,
    pub selected: Selected,
}

#[derive(Debug, PartialEq)]
pub enum Selected {
    /// A provider of the user's config, as written there.
    Custom(Table),
    /// Codex's built-in OpenAI provider, signed in with ChatGPT or not.
    OpenAi {
        chatgpt: bool,
    },
    Unroutable(String),
}

impl CodexConfig {
    /// Reads the config the way Codex does. A config Codex would refuse is
    /// an error here too, before anything starts.
    pub fn read(env: &Environment, args: &[OsString]) -> anyhow::Result<CodexConfig> {
        let home = codex_home(env);
        let path = home.join("config.toml");
        let config = read_table(&path)?;
        let profile =
            profile_in_args(args).or_else(|| config.get("profile")?.as_str().map(str::to_string));
        let profile_table = profile
            .as_deref()
            .and_then(|name| config.get("profiles")?.get(name)?.as_table());
        let provider_id = profile_table
            .and_then(|p| p.get("model_provider")?.as_str())
            .or_else(|| config.get("model_provider")?.as_str())
            .unwrap_or("openai")
            .to_string();
        let custom = config
            .get("model_providers")
            .and_then(|p| p.get(&provider_id))
            .and_then(Value::as_table);
        let selected = match (provider_id.as_str(), custom) {
            // Codex keeps its built-in providers over same-named ones.
            ("openai", _) => Selected::OpenAi {
                chatgpt: chatgpt_login(&home),
            },
            (id, _) if LOCAL_BUILT_INS.contains(&id) => Selected::Unroutable(format!(
                "Codex's built-in local provider {id} is not routed by headroom"
            )),
            (_, Some(table)) => Selected::Custom(table.clone()),
            (id, None) => {
                return Err(UsageError::new(format!(
                    "{}: model provider {id} is not defined under [model_providers]",
                    path.display()
                ))
                .into())
            }
        };
        // Chosen after headroom's own choice, it would win over it.
        let selected = match provider_chosen_in_args(args) {
            Some(words) => Selected::Unroutable(format!(
                "{words} among Codex's arguments chooses a provider after headroom's, so its requests would not reach the proxy; choose it in config.toml or a profile (-p) instead"
            )),
            None => selected,
        };
        Ok(CodexConfig {
            provider_id,
            profile,
            selected,
        })
    }
}

/// `$CODEX_HOME`, else `~/.codex`.
pub fn codex_home(env: &Environment) -> PathBuf {
    match env.non_empty("CODEX_HOME") {
        Some(dir) => env.resolve(dir),
        None => env.home.join(".codex"),
    }
}

fn read_table(path: &Path) -> anyhow::Result<Table> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Table::new()),
        Err(e) => {
            return Err(UsageError::new(format!("{}: cannot read: {e}", path.display())).into())
        }
    };
    text.parse::<Table>().map_err(|e| {
        let message = e.message().replace('\n', " ");
        UsageError::new(format!("{}: not valid TOML: {message}", path.display())).into()
    })
}

/// `--profile NAME`, `--profile=NAME` or `-p NAME` among the user's
/// arguments to Codex.
fn profile_in_args(args: &[OsString]) -> Option<String> {
    let mut found = None;
    for (word, next) in words_before_dashes(args) {
        if let Some(name) = word.strip_prefix("--profile=") {
            found = Some(name.to_string());
        } else if word == "--profile" || word == "-p" {
            found = next.map(str::to_string);
        }
    }
    found
}

/// The words among the user's arguments to Codex that choose its model
/// provider: `-c model_provider=ID` (or `--config`, joined by `=` or not)
/// or `--oss`.
fn provider_chosen_in_args(args: &[OsString]) -> Option<String> {
    let chooses = |value: &str| value.trim_start().starts_with("model_provider=");
    let mut found = None;
    for (word, next) in words_before_dashes(args) {
        let next = next.unwrap_or_default();
        if word == "--oss" {
            found = Some(word.to_string());
        } else if (word == "-c" || word == "--config") && chooses(next) {
            found = Some(format!("{word} {next}"));
        } else if word.strip_prefix("--config=").is_some_and(chooses) {
            found = Some(word.to_string());
        }
    }
    found
}

#[derive(Deserialize)]
struct Auth {
    #[serde(default)]
    auth_mode: Option<String>,
    #[serde(rename = "OPENAI_API_KEY", default)]
    api_key: Option<String>,
    #[serde(default)]
    tokens: Option<serde_json::Value>,
}

/// True when `auth.json` holds a ChatGPT login rather than an API key.
fn chatgpt_login(home: &Path) -> bool {
    let Some(auth) = std::fs::read(home.join("auth.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Auth>(&bytes).ok())
    else {
        return false;
    };
    match auth.auth_mode.as_deref() {
        Some(mode) => mode.eq_ignore_ascii_case("chatgpt"),
        None => auth.api_key.is_none() && auth.tokens.is_some_and(|t| !t.is_null()),
    }
}

/// Codex's built-in OpenAI provider, as `model_providers` would spell it.
pub fn built_in_openai() -> Table {
    let mut provider = Table::new();
    provider.insert("name".into(), Value::String("OpenAI".into()));
    provider.insert("wire_api".into(), Value::String("responses".into()));
    provider.insert("requires_openai_auth".into(), Value::Boolean(true));
    let mut env_headers = Table::new();
    env_headers.insert(
        "OpenAI-Organization".into(),
        Value::String("OPENAI_ORGANIZATION".into()),
    );
    env_headers.insert(
        "OpenAI-Project".into(),
        Value::String("OPENAI_PROJECT".into()),
    );
    provider.insert("env_http_headers".into(), Value::Table(env_headers));
    provider
}
