//! Qwen Code: its auth type picks the base-URL variable it reads
//! (`OPENAI_BASE_URL` for `openai` and `openai-responses`,
//! `ANTHROPIC_BASE_URL` for `anthropic`), and a header can only come from
//! its settings (`model.generationConfig.customHeaders`). headroom sets
//! that variable to the proxy and names, in `QWEN_CODE_SYSTEM_SETTINGS_PATH`,
//! a system settings file of its own: the user's system settings with the
//! header added, and, when a `modelProviders` entry sets the base URL of
//! the model in use (which wins over the variable), a copy of the model
//! providers with that entry pointed at the proxy. System settings win
//! over the user's and the project's.

mod settings;

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::proxy::upstream::Upstream;

use super::agent::{
    proxied_base_url, AgentSpec, Context, Launch, OverlayFile, Routed, Setup, Shown,
    UPSTREAM_HEADER,
};
use super::environment::Environment;
use super::mask;
use super::opencode::merge::deep_merge;
use settings::{arg, QwenSettings, SYSTEM_DEFAULTS_VAR, SYSTEM_SETTINGS_VAR};

pub const AGENT: AgentSpec = AgentSpec {
    name: "qwen",
    title: "Qwen Code",
    binary: "qwen",
    bin_var: "HEADROOM_QWEN_BIN",
    install: "npm install -g @qwen-code/qwen-code, with Node 22 or later",
    read_setup,
};

/// The system settings file headroom writes for the run.
const OVERLAY: &str = "qwen-system-settings.json";
/// The settings version Qwen Code 0.24 writes into a file that lacks it.
const SETTINGS_VERSION: u64 = 4;

/// The auth types whose requests a base-URL swap carries.
fn base_url_var(auth_type: &str) -> Option<(&'static str, &'static str)> {
    match auth_type {
        "openai" | "openai-responses" => Some(("OPENAI_BASE_URL", "https://api.openai.com/v1")),
        "anthropic" => Some(("ANTHROPIC_BASE_URL", "https://api.anthropic.com")),
        _ => None,
    }
}

#[derive(Debug)]
struct QwenSetup {
    auth_type: String,
    /// The variable headroom sets to the proxy.
    var: &'static str,
    upstream: String,
    /// The user's system settings, which headroom's file replaces.
    system: Map<String, Value>,
    /// The user's own custom headers, kept beside headroom's.
    custom_headers: Map<String, Value>,
    /// The system defaults file to keep, when only the system settings
    /// file's place made it.
    defaults_path: Option<String>,
    /// The `modelProviders` in effect and the index of the entry for the
    /// model in use under the auth type, when that entry sets `baseUrl`:
    /// it wins over the variable, so headroom's settings carry a copy
    /// pointed at the proxy.
    provider: Option<(Map<String, Value>, usize)>,
    unroutable: Option<String>,
}

fn read_setup(context: &Context) -> anyhow::Result<Box<dyn Setup>> {
    let settings = QwenSettings::read(context.env)?;
    Ok(Box::new(setup(context.env, &settings, context.args)))
}

fn setup(env: &Environment, settings: &QwenSettings, args: &[std::ffi::OsString]) -> QwenSetup {
    let auth_type = arg(args, &["--auth-type", "--authType"])
        .or_else(|| {
            settings
                .string("security.auth.selectedType")
                .map(str::to_string)
        })
        .or_else(|| auth_type_from_env(env, settings));
    let custom_headers = settings
        .get("model.generationConfig.customHeaders")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let defaults_path = env
        .non_empty(SYSTEM_DEFAULTS_VAR)
        .is_none()
        .then(|| settings.defaults_path.display().to_string());
    let mut setup = QwenSetup {
        auth_type: auth_type.clone().unwrap_or_default(),
        var: "",
        upstream: String::new(),
        system: settings.system.clone(),
        custom_headers,
        defaults_path,
        provider: None,
        unroutable: None,
    };
    let Some(auth_type) = auth_type else {
        setup.unroutable = Some(
            "Qwen Code has no auth type selected (--auth-type, or security.auth.selectedType in its settings)".into(),
        );
        return setup;
    };
    let Some((var, public)) = base_url_var(&auth_type) else {
        setup.unroutable = Some(match auth_type.as_str() {
            "qwen-oauth" => "Qwen Code signs in with Qwen OAuth, whose requests a base-URL swap cannot carry; use an API key with --auth-type openai or anthropic".to_string(),
            other => format!("Qwen Code's auth type {other} is not routed by headroom"),
        });
        return setup;
    };
    setup.var = var;
    let (upstream, from) = upstream(env, settings, args, &auth_type, var, public);
    if let Source::Provider(index) = from {
        setup.provider = settings
            .get("modelProviders")
            .and_then(Value::as_object)
            .map(|providers| (providers.clone(), index));
    }
    setup.upstream = upstream.trim().trim_end_matches('/').to_string();
    setup.unroutable = why_unroutable(&setup, &from, &auth_type);
    setup
}

/// Qwen Code's own guess when nothing selects an auth type.
fn auth_type_from_env(env: &Environment, settings: &QwenSettings) -> Option<String> {
    let has = |name: &str| settings.var(env, name).is_some();
    let found = if has("QWEN_OAUTH") {
        "qwen-oauth"
    } else if has("OPENAI_API_KEY")
        && (has("OPENAI_MODEL") || has("QWEN_MODEL"))
        && has("OPENAI_BASE_URL")
    {
        "openai"
    } else if has("ANTHROPIC_API_KEY") && has("ANTHROPIC_MODEL") && has("ANTHROPIC_BASE_URL") {
        "anthropic"
    } else {
        return None;
    };
    Some(found.to_string())
}

/// Where the requests go, as Qwen Code picks it: the model provider's
/// `baseUrl`, `--openai-base-url`, the variable, `security.auth.baseUrl`,
/// the public API. Also says where it came from.
fn upstream(
    env: &Environment,
    settings: &QwenSettings,
    args: &[std::ffi::OsString],
    auth_type: &str,
    var: &str,
    public: &str,
) -> (String, Source) {
    if let Some((index, base)) = provider_base_url(env, settings, args, auth_type) {
        return (base, Source::Provider(index));
    }
    if let Some(base) = arg(args, &["--openai-base-url", "--openaiBaseUrl"]) {
        return (base, Source::Argument);
    }
    if let Some((value, from)) = settings.var(env, var) {
        return (value, Source::Other(from));
    }
    if let Some(base) = settings.string("security.auth.baseUrl") {
        return (
            base.to_string(),
            Source::Other("security.auth.baseUrl".into()),
        );
    }
    (public.to_string(), Source::Other(var.into()))
}

#[derive(Debug)]
enum Source {
    /// The entry at this index of `modelProviders.<auth type>`.
    Provider(usize),
    Argument,
    Other(String),
}

/// The index and `baseUrl` of the `modelProviders` entry for the model in
/// use, when it sets one.
fn provider_base_url(
    env: &Environment,
    settings: &QwenSettings,
    args: &[std::ffi::OsString],
    auth_type: &str,
) -> Option<(usize, String)> {
    let model_vars: &[&str] = match auth_type {
        "anthropic" => &["ANTHROPIC_MODEL"],
        _ => &["OPENAI_MODEL", "QWEN_MODEL"],
    };
    let model = arg(args, &["--model", "-m"])
        .or_else(|| settings.string("model.name").map(str::to_string))
        .or_else(|| {
            model_vars
                .iter()
                .find_map(|v| settings.var(env, v).map(|(v, _)| v))
        })?;
    let providers = settings.get("modelProviders")?.get(auth_type)?.as_array()?;
    let index = providers
        .iter()
        .position(|p| p.get("id").and_then(Value::as_str) == Some(model.as_str()))?;
    let base = providers[index].get("baseUrl")?.as_str()?;
    (!base.trim().is_empty()).then(|| (index, base.to_string()))
}

fn why_unroutable(setup: &QwenSetup, from: &Source, auth_type: &str) -> Option<String> {
    match from {
        Source::Provider(_) | Source::Other(_) => {}
        Source::Argument => {
            return Some(format!(
                "--openai-base-url among your arguments wins over {}; set {} instead",
                setup.var, setup.var
            ))
        }
    }
    let names_upstream = setup
        .custom_headers
        .keys()
        .any(|name| name.eq_ignore_ascii_case(UPSTREAM_HEADER));
    if names_upstream {
        return Some(format!(
            "Qwen Code is already routed through a headroom proxy (its customHeaders set {UPSTREAM_HEADER})"
        ));
    }
    if let Err(e) = Upstream::parse(&setup.upstream) {
        let name = match from {
            Source::Other(name) => name.clone(),
            Source::Provider(_) => format!("modelProviders.{auth_type}"),
            Source::Argument => setup.var.to_string(),
        };
        return Some(format!("the base URL from {name} is not a valid URL: {e}"));
    }
    None
}

impl QwenSetup {
    /// The user's system settings with headroom's header added to theirs;
    /// when the model in use comes from a `modelProviders` entry with its
    /// own base URL, the providers with that entry pointed at `base_url`
    /// and the header in its own settings (Qwen Code then ignores the
    /// top-level ones, and says so).
    fn overlay(&self, base_url: &str) -> Map<String, Value> {
        let mut overlay = self.system.clone();
        overlay.entry("$version").or_insert(json!(SETTINGS_VERSION));
        let Some((providers, index)) = &self.provider else {
            let mut headers = self.custom_headers.clone();
            headers.insert(UPSTREAM_HEADER.into(), json!(self.upstream));
            let top = json!({"model": {"generationConfig": {"customHeaders": headers}}});
            if let Value::Object(top) = top {
                deep_merge(&mut overlay, &top);
            }
            return overlay;
        };
        let mut providers = providers.clone();
        let entry = providers
            .get_mut(&self.auth_type)
            .and_then(|list| list.get_mut(*index))
            .and_then(Value::as_object_mut);
        if let Some(entry) = entry {
            entry.insert("baseUrl".into(), json!(base_url));
            let mut own = Map::new();
            own.insert(UPSTREAM_HEADER.into(), json!(self.upstream));
            let top = json!({"generationConfig": {"customHeaders": own}});
            if let Value::Object(top) = top {
                deep_merge(entry, &top);
            }
        }
        // A scope that has modelProviders replaces it whole.
        overlay.insert("modelProviders".into(), Value::Object(providers));
        overlay
    }
}

impl Setup for QwenSetup {
    fn unroutable(&self) -> Option<String> {
        self.unroutable.clone()
    }

    /// Requests without the header (a model provider with custom headers
    /// of its own replaces the settings' ones) go where Qwen Code would
    /// have sent them.
    fn default_upstream(&self) -> Option<String> {
        (!self.upstream.is_empty()).then(|| self.upstream.clone())
    }

    fn launch(&self, proxy_origin: &str, dir: &Path) -> anyhow::Result<Launch> {
        if self.var.is_empty() {
            return Ok(Launch::default());
        }
        let base_url = proxied_base_url(proxy_origin, &self.upstream);
        let overlay = Value::Object(self.overlay(&base_url));
        let shown = mask::json(&overlay);
        let overlay_path = dir.join(OVERLAY).display().to_string();
        let mut env = vec![
            (self.var.to_string(), Shown::plain(base_url.clone())),
            (SYSTEM_SETTINGS_VAR.to_string(), Shown::plain(overlay_path)),
        ];
        if let Some(defaults) = &self.defaults_path {
            env.push((
                SYSTEM_DEFAULTS_VAR.to_string(),
                Shown::plain(defaults.clone()),
            ));
        }
        Ok(Launch {
            routed: vec![Routed {
                id: self.auth_type.clone(),
                upstream: self.upstream.clone(),
                base_url,
                names_itself: false,
            }],
            env,
            files: vec![OverlayFile {
                name: OVERLAY.into(),
                contents: Shown::masked(
                    serde_json::to_string_pretty(&overlay)?,
                    serde_json::to_string_pretty(&shown)?,
                ),
            }],
            ..Launch::default()
        })
    }
}

#[cfg(test)]
mod tests;
