//! Kilo (Kilo Code's CLI), a fork of opencode: the same config layers and
//! the same overlay, under Kilo's names (`KILO_CONFIG_CONTENT`,
//! `~/.config/kilo`, `.kilo` and `.kilocode` dirs, `kilo.json` beside
//! `opencode.json`), as read by Kilo 7.7.7.

use super::agent::AgentSpec;
use super::environment::Environment;
use super::opencode::{self, ConfigNames, OwnSdk};

pub const AGENT: AgentSpec = AgentSpec {
    name: "kilo",
    title: "Kilo",
    binary: "kilo",
    bin_var: "HEADROOM_KILO_BIN",
    install: "npm install -g @kilocode/cli",
    read_setup: |context| opencode::read_setup(context, &KILO),
};

/// The files of a config dir, lowest precedence first: in one dir,
/// `opencode.json` wins.
const DIR_FILES: [&str; 4] = ["kilo.jsonc", "kilo.json", "opencode.jsonc", "opencode.json"];

pub const KILO: ConfigNames = ConfigNames {
    product: "Kilo",
    app_dir: "kilo",
    content_var: "KILO_CONFIG_CONTENT",
    auth_var: "KILO_AUTH_CONTENT",
    config_var: "KILO_CONFIG",
    config_dir_var: "KILO_CONFIG_DIR",
    disable_project_var: "KILO_DISABLE_PROJECT_CONFIG",
    global_files: &[
        "config.json",
        "kilo.json",
        "kilo.jsonc",
        "opencode.json",
        "opencode.jsonc",
    ],
    project_stems: &["kilo", "opencode"],
    dot_dirs: &[".kilocode", ".kilo"],
    dir_files: &DIR_FILES,
    own_provider: "kilo",
    own_sdk: Some(OwnSdk {
        default_base: gateway_base,
        root: gateway_root,
    }),
};

/// The Kilo Gateway's base when the config names none: `KILO_API_URL`,
/// whatever the catalog says.
fn gateway_base(env: &Environment) -> String {
    env.non_empty("KILO_API_URL")
        .unwrap_or("https://api.kilo.ai")
        .to_string()
}

/// Kilo's gateway SDK keeps its base URL's path up to the last `api`
/// segment and sends every request under `<that>/api/openrouter/`.
fn gateway_root(base: &str) -> String {
    let (origin, path) = match base.find("://") {
        Some(scheme_end) => {
            let path_start = base[scheme_end + 3..]
                .find('/')
                .map_or(base.len(), |i| scheme_end + 3 + i);
            base.split_at(path_start)
        }
        None => (base, ""),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let kept = match segments.iter().rposition(|s| *s == "api") {
        Some(api) => &segments[..api],
        None => &segments[..],
    };
    let mut root = origin.to_string();
    for segment in kept {
        root.push('/');
        root.push_str(segment);
    }
    root
}

#[cfg(test)]
mod tests;
