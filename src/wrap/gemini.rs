//! Gemini CLI: `GOOGLE_GEMINI_BASE_URL` points it at the proxy and
//! `GEMINI_CLI_CUSTOM_HEADERS` adds the upstream header. A base URL alone
//! makes Gemini CLI take a "gateway" login, which it refuses, so unless
//! the user's settings already select the API key, a system settings
//! overlay (the user's own system settings, merged) selects it.
//!
//! Login with Google talks to Google's Code Assist API, and Vertex AI to
//! its own endpoints: neither is carried by this base URL.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::proxy::upstream::Upstream;

use super::agent::{
    names_upstream, proxied_base_url, AgentSpec, Context, Launch, OverlayFile, Routed, Setup,
    Shown, UPSTREAM_HEADER,
};
use super::environment::Environment;
use super::mask;
use super::opencode::{deep_merge, parse_object};
use super::private_dir;

pub const AGENT: AgentSpec = AgentSpec {
    name: "gemini",
    title: "Gemini CLI",
    binary: "gemini",
    bin_var: "HEADROOM_GEMINI_BIN",
    install: "npm install -g @google/gemini-cli",
    read_setup,
};

const DEFAULT_UPSTREAM: &str = "https://generativelanguage.googleapis.com";
const BASE_URL: &str = "GOOGLE_GEMINI_BASE_URL";
const CUSTOM_HEADERS: &str = "GEMINI_CLI_CUSTOM_HEADERS";
const SYSTEM_SETTINGS: &str = "GEMINI_CLI_SYSTEM_SETTINGS_PATH";
const SYSTEM_DEFAULTS: &str = "GEMINI_CLI_SYSTEM_DEFAULTS_PATH";
const API_KEY: &str = "gemini-api-key";
const OVERLAY: &str = "gemini-system-settings.json";
const WHAT_TO_DO: &str =
    "use a Gemini API key instead (GEMINI_API_KEY, and /auth in gemini to select it)";

/// Gemini CLI's settings files, as it finds them.
struct SettingsFiles {
    /// The system settings, which win over every other file.
    system: PathBuf,
    /// The system defaults, which lose to every other file. Found beside
    /// the system settings unless named.
    defaults: PathBuf,
    /// The workspace's, which counts only in a trusted workspace.
    workspace: Option<PathBuf>,
    user: PathBuf,
}

impl SettingsFiles {
    fn of(env: &Environment) -> SettingsFiles {
        let (system, defaults) =
            system_settings_paths(env, SYSTEM_SETTINGS, SYSTEM_DEFAULTS, "gemini-cli");
        let home = gemini_home(env);
        // Gemini CLI takes no workspace settings in the home directory.
        let workspace = (env.cwd != home).then(|| env.cwd.join(".gemini/settings.json"));
        SettingsFiles {
            system,
            defaults,
            workspace,
            user: home.join(".gemini/settings.json"),
        }
    }
}

/// The system settings file of Gemini CLI or a fork of it, and its system
/// defaults: the files `settings_var` and `defaults_var` name, else
/// `<system config>/<dir>/settings.json` and the defaults beside it.
pub(crate) fn system_settings_paths(
    env: &Environment,
    settings_var: &str,
    defaults_var: &str,
    dir: &str,
) -> (PathBuf, PathBuf) {
    let system = match env.non_empty(settings_var) {
        Some(path) => env.resolve(path),
        None => env.system_config.join(dir).join("settings.json"),
    };
    let defaults = match env.non_empty(defaults_var) {
        Some(path) => env.resolve(path),
        None => system
            .parent()
            .unwrap_or(Path::new("/"))
            .join("system-defaults.json"),
    };
    (system, defaults)
}

/// Where Gemini CLI keeps `.gemini`: `GEMINI_CLI_HOME`, else the home.
fn gemini_home(env: &Environment) -> PathBuf {
    env.non_empty("GEMINI_CLI_HOME")
        .map_or_else(|| env.home.clone(), PathBuf::from)
}

/// A settings file as an object; nothing when it is missing or not JSON
/// (Gemini CLI then stops on its own, with its own message).
fn read_settings(path: &Path) -> Map<String, Value> {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| {
            parse_object(
                &String::from_utf8_lossy(&bytes),
                &path.display().to_string(),
            )
            .ok()
        })
        .unwrap_or_default()
}

/// `security.<group>.<key>` from the first settings that set it.
fn security_setting<'a>(
    layers: &[&'a Map<String, Value>],
    group: &str,
    key: &str,
) -> Option<&'a Value> {
    layers
        .iter()
        .find_map(|settings| settings.get("security")?.get(group)?.get(key))
}

fn auth_setting(layers: &[&Map<String, Value>], key: &str) -> Option<String> {
    security_setting(layers, "auth", key)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The auth type Gemini CLI takes from the environment when no settings
/// select one (its own order; the base URL's "gateway" aside, which
/// headroom replaces).
fn auth_from_env(env: &Environment) -> Option<&'static str> {
    let is_true = |name: &str| env.var(name) == Some("true");
    if is_true("GOOGLE_GENAI_USE_GCA") {
        Some("oauth-personal")
    } else if is_true("GOOGLE_GENAI_USE_VERTEXAI") {
        Some("vertex-ai")
    } else if env.non_empty("GEMINI_API_KEY").is_some() {
        Some(API_KEY)
    } else if is_true("CLOUD_SHELL") || is_true("GEMINI_CLI_USE_COMPUTE_ADC") {
        Some("compute-default-credentials")
    } else {
        None
    }
}

/// `NAME=value` from a dotenv file: the last assignment, unquoted.
fn dotenv_value(path: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().rev().find_map(|line| {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (key, value) = line.split_once('=')?;
        (key.trim() == name).then(|| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value)
                .to_string()
        })
    })
}

#[derive(Debug)]
struct GeminiSetup {
    upstream: String,
    custom_headers: Option<String>,
    /// The system settings the child gets in place of the user's, when the
    /// user's settings do not select the API key.
    overlay: Option<Value>,
    /// The system defaults the user's system settings path implies, which
    /// moving that path would otherwise lose.
    defaults: Option<PathBuf>,
    unroutable: Option<String>,
}

fn read_setup(context: &Context) -> anyhow::Result<Box<dyn Setup>> {
    let dir = private_dir::base(context.env);
    Ok(Box::new(setup(context.env, takes_system_files_in(&dir))))
}

/// Gemini CLI reads a system settings file only when it and every
/// directory above it belong to root and no one else can write them: true
/// when headroom's private directory, created as root's, would pass.
fn takes_system_files_in(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    rustix::process::geteuid().is_root()
        && dir
            .ancestors()
            .all(|ancestor| match std::fs::metadata(ancestor) {
                Ok(meta) => meta.uid() == 0 && meta.mode() & 0o022 == 0,
                // Created by headroom, as root's, only root's.
                Err(_) => true,
            })
}

fn setup(env: &Environment, takes_overlay: bool) -> GeminiSetup {
    let files = SettingsFiles::of(env);
    let system = read_settings(&files.system);
    let defaults = read_settings(&files.defaults);
    let user = read_settings(&files.user);
    let folder_trust = security_setting(&[&system, &user, &defaults], "folderTrust", "enabled")
        .and_then(Value::as_bool);
    let trusted = trust::workspace_trusted(env, folder_trust);
    let workspace = match &files.workspace {
        Some(path) if trusted => read_settings(path),
        _ => Map::new(),
    };
    let layers = [&system, &workspace, &user, &defaults];
    let selected = auth_setting(&layers, "selectedType");
    let enforced = auth_setting(&layers, "enforcedType");
    let auth = selected
        .clone()
        .or_else(|| auth_from_env(env).map(str::to_owned));

    let base = env
        .non_empty(BASE_URL)
        .map(str::to_owned)
        // An untrusted workspace's `.env` sets only a few keys, not this one.
        .or_else(|| {
            let file = trust::env_file(env, trusted).filter(|_| trusted)?;
            dotenv_value(&file, BASE_URL)
        })
        .filter(|b| !b.trim().is_empty());
    let upstream = base.as_deref().map_or(DEFAULT_UPSTREAM.to_string(), |b| {
        b.trim().trim_end_matches('/').to_string()
    });
    let custom_headers = env.non_empty(CUSTOM_HEADERS).map(str::to_owned);
    let needs_overlay = selected.as_deref() != Some(API_KEY);

    let unroutable = match auth.as_deref() {
        Some("oauth-personal" | "compute-default-credentials" | "cloud-shell") => Some(format!(
            "Gemini CLI's Login with Google talks to Google's Code Assist API, which a base-URL swap cannot carry; {WHAT_TO_DO}"
        )),
        Some("vertex-ai") => Some(format!(
            "Gemini CLI on Vertex AI talks to Vertex's own endpoints, which headroom does not route; {WHAT_TO_DO}"
        )),
        _ => None,
    }
    .or_else(|| {
        enforced.filter(|e| e != API_KEY).map(|e| {
            format!("Gemini CLI's settings enforce the auth type {e}, which headroom cannot route; {WHAT_TO_DO}")
        })
    })
    .or_else(|| {
        let nested = custom_headers
            .as_deref()
            .is_some_and(|headers| names_upstream(headers, ','));
        nested.then(|| format!("Gemini CLI is already routed through a headroom proxy ({CUSTOM_HEADERS} sets {UPSTREAM_HEADER})"))
    })
    .or_else(|| {
        Upstream::parse(&upstream)
            .err()
            .map(|e| format!("{BASE_URL} is not a valid URL: {e}"))
    })
    .or_else(|| {
        (needs_overlay && !takes_overlay).then(|| format!(
            "Gemini CLI takes a base URL only with the auth type {API_KEY}, your settings select none, and it reads a system settings file only where no one but root can write; select it in {} (\"security\": {{\"auth\": {{\"selectedType\": \"{API_KEY}\"}}}}, or /auth in gemini)",
            gemini_home(env).join(".gemini/settings.json").display()
        ))
    });

    let overlay = needs_overlay.then(|| {
        let mut merged = system.clone();
        let auth = json!({"security": {"auth": {"selectedType": API_KEY}}});
        if let Value::Object(auth) = auth {
            deep_merge(&mut merged, &auth);
        }
        Value::Object(merged)
    });
    let defaults_path =
        (needs_overlay && env.non_empty(SYSTEM_DEFAULTS).is_none()).then_some(files.defaults);
    GeminiSetup {
        upstream,
        custom_headers,
        overlay,
        defaults: defaults_path,
        unroutable,
    }
}

impl Setup for GeminiSetup {
    fn unroutable(&self) -> Option<String> {
        self.unroutable.clone()
    }

    /// Requests without the custom headers go where Gemini CLI would have
    /// sent them.
    fn default_upstream(&self) -> Option<String> {
        Some(self.upstream.clone())
    }

    fn launch(&self, proxy_origin: &str, dir: &Path) -> anyhow::Result<Launch> {
        let base_url = proxied_base_url(proxy_origin, &self.upstream);
        let mut headers = format!("{UPSTREAM_HEADER}: {}", self.upstream);
        if let Some(own) = &self.custom_headers {
            headers.push_str(", ");
            headers.push_str(own);
        }
        let mut env = vec![
            (BASE_URL.to_string(), Shown::plain(&base_url)),
            (
                CUSTOM_HEADERS.to_string(),
                Shown::masked(&headers, mask::header_lines(&headers, ',')),
            ),
        ];
        let mut files = Vec::new();
        if let Some(overlay) = &self.overlay {
            let path = dir.join(OVERLAY);
            env.push((
                SYSTEM_SETTINGS.to_string(),
                Shown::plain(path.display().to_string()),
            ));
            if let Some(defaults) = &self.defaults {
                env.push((
                    SYSTEM_DEFAULTS.to_string(),
                    Shown::plain(defaults.display().to_string()),
                ));
            }
            files.push(OverlayFile {
                name: OVERLAY.to_string(),
                contents: Shown::masked(overlay.to_string(), mask::json(overlay).to_string()),
            });
        }
        Ok(Launch {
            routed: vec![Routed {
                id: "gemini".into(),
                upstream: self.upstream.clone(),
                base_url,
                names_itself: false,
            }],
            env,
            files,
            ..Launch::default()
        })
    }
}

mod trust;

#[cfg(test)]
mod tests;
