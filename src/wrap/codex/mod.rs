//! Codex: it ignores `OPENAI_BASE_URL`, so headroom defines, with `-c`
//! overrides on the command line, a provider that copies the one the
//! user's config selects, with the proxy as its `base_url`, the upstream
//! header in its `http_headers`, and HTTP instead of the WebSocket
//! transport (whose frames the proxy could not read). The user's config is
//! only read.

mod config;
mod inline;

use std::path::Path;

use toml::{Table, Value};

use crate::proxy::upstream::Upstream;

use super::agent::{AgentSpec, Context, Launch, Routed, Setup, Shown, UPSTREAM_HEADER};
use config::{CodexConfig, Selected};

pub const AGENT: AgentSpec = AgentSpec {
    name: "codex",
    title: "Codex",
    binary: "codex",
    bin_var: "HEADROOM_CODEX_BIN",
    install: "npm install -g @openai/codex",
    read_setup,
};

/// The id of the provider headroom defines for the run.
pub const PROVIDER_ID: &str = "headroom";

#[derive(Debug)]
struct CodexSetup {
    /// The provider as the user's config defines it (or Codex's built-in).
    provider: Table,
    /// Where its requests really go, sent as the upstream header.
    upstream: String,
    /// The path after the proxy's origin in the provider's `base_url`.
    path: String,
    /// The id the user's config selects, for the dry run and the ledger.
    selected_id: String,
    /// The profile that selects the provider, whose choice must be
    /// overridden too.
    profile: Option<String>,
    unroutable: Option<String>,
}

fn read_setup(context: &Context) -> anyhow::Result<Box<dyn Setup>> {
    let config = CodexConfig::read(context.env, context.args)?;
    Ok(Box::new(setup(config)))
}

fn setup(config: CodexConfig) -> CodexSetup {
    let (provider, upstream, path, unroutable) = match config.selected {
        Selected::Custom(table) => {
            let base = table
                .get("base_url")
                .and_then(Value::as_str)
                .unwrap_or(config::OPENAI_API)
                .trim()
                .trim_end_matches('/')
                .to_string();
            let (path, unroutable) = match Upstream::parse(&base) {
                Ok(upstream) => (upstream.version_segment().to_string(), None),
                Err(e) => (
                    String::new(),
                    Some(format!(
                        "the base_url of model provider {} is not a valid URL: {e}",
                        config.provider_id
                    )),
                ),
            };
            (table, base, path, unroutable)
        }
        Selected::OpenAi { chatgpt } => {
            let (upstream, path) = if chatgpt {
                (config::CHATGPT_ORIGIN, config::CHATGPT_PATH)
            } else {
                (config::OPENAI_API, "/v1")
            };
            (
                config::built_in_openai(),
                upstream.to_string(),
                path.to_string(),
                None,
            )
        }
        Selected::Unroutable(why) => (Table::new(), String::new(), String::new(), Some(why)),
    };
    CodexSetup {
        provider,
        upstream,
        path,
        selected_id: config.provider_id,
        profile: config.profile,
        unroutable,
    }
}

impl CodexSetup {
    /// The provider headroom defines: the user's, pointed at the proxy.
    fn routed_provider(&self, base_url: &str) -> Table {
        let mut provider = self.provider.clone();
        provider.insert("base_url".into(), Value::String(base_url.to_string()));
        provider.insert("supports_websockets".into(), Value::Boolean(false));
        let mut headers = match provider.remove("http_headers") {
            Some(Value::Table(headers)) => headers,
            _ => Table::new(),
        };
        headers.retain(|name, _| !name.eq_ignore_ascii_case(UPSTREAM_HEADER));
        headers.insert(UPSTREAM_HEADER.into(), Value::String(self.upstream.clone()));
        provider.insert("http_headers".into(), Value::Table(headers));
        provider
            .entry("name")
            .or_insert_with(|| Value::String(self.selected_id.clone()));
        provider
    }
}

impl Setup for CodexSetup {
    fn unroutable(&self) -> Option<String> {
        self.unroutable.clone()
    }

    fn launch(&self, proxy_origin: &str, _dir: &Path) -> anyhow::Result<Launch> {
        let base_url = format!("{}{}", proxy_origin.trim_end_matches('/'), self.path);
        let provider = self.routed_provider(&base_url);
        let quoted_id = inline::string(PROVIDER_ID);
        let mut overrides = vec![Shown::plain(format!("model_provider={quoted_id}"))];
        if let Some(profile) = &self.profile {
            overrides.push(Shown::plain(format!(
                "profiles.{}.model_provider={quoted_id}",
                inline::key(profile)
            )));
        }
        overrides.push(Shown::masked(
            format!("model_providers.{PROVIDER_ID}={}", inline::table(&provider)),
            format!(
                "model_providers.{PROVIDER_ID}={}",
                inline::table(&inline::masked(&provider))
            ),
        ));
        let args = overrides
            .into_iter()
            .flat_map(|value| [Shown::plain("-c"), value])
            .collect();
        Ok(Launch {
            routed: vec![Routed {
                id: self.selected_id.clone(),
                upstream: self.upstream.clone(),
                base_url,
                names_itself: false,
            }],
            args,
            ..Launch::default()
        })
    }
}

#[cfg(test)]
mod tests;
