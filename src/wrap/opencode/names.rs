//! The names under which an agent of the opencode family (opencode, and
//! forks of it such as Kilo) keeps its configuration. The loading, planning
//! and overlay code is the same for each; only these names differ.

use super::environment::Environment;

#[derive(Debug)]
pub struct ConfigNames {
    /// What the agent is called in messages: `opencode`.
    pub product: &'static str,
    /// Its directory under the XDG config, data and cache dirs, and under
    /// the system config dir for managed config: `opencode`.
    pub app_dir: &'static str,
    /// Inline config text, where the overlay goes: `OPENCODE_CONFIG_CONTENT`.
    pub content_var: &'static str,
    /// Inline credentials that replace `auth.json`: `OPENCODE_AUTH_CONTENT`.
    pub auth_var: &'static str,
    /// A config file the user names: `OPENCODE_CONFIG`.
    pub config_var: &'static str,
    /// A config directory the user names: `OPENCODE_CONFIG_DIR`.
    pub config_dir_var: &'static str,
    /// Turns project config off: `OPENCODE_DISABLE_PROJECT_CONFIG`.
    pub disable_project_var: &'static str,
    /// The files of the global config dir, lowest precedence first.
    pub global_files: &'static [&'static str],
    /// The stems of project config files (`<stem>.json`, `<stem>.jsonc`),
    /// lowest precedence first.
    pub project_stems: &'static [&'static str],
    /// The names of config dirs, in the order found at each level.
    pub dot_dirs: &'static [&'static str],
    /// The files of a config dir and of the managed dir, lowest first.
    pub dir_files: &'static [&'static str],
    /// The agent's own provider, on without any credentials.
    pub own_provider: &'static str,
    /// The agent's own provider, when the agent builds it itself instead
    /// of from the catalog.
    pub own_sdk: Option<OwnSdk>,
}

/// An agent's own provider that its own code builds (Kilo's gateway). Such
/// a provider also lists its models without the provider's headers.
#[derive(Debug)]
pub struct OwnSdk {
    /// Its base URL when the config names none.
    pub default_base: fn(&Environment) -> String,
    /// The part of a base URL that its requests keep: the SDK appends its
    /// own path to that, whatever the base URL's path ends with.
    pub root: fn(&str) -> String,
}

/// opencode 1.18.33.
pub const OPENCODE: ConfigNames = ConfigNames {
    product: "opencode",
    app_dir: "opencode",
    content_var: "OPENCODE_CONFIG_CONTENT",
    auth_var: "OPENCODE_AUTH_CONTENT",
    config_var: "OPENCODE_CONFIG",
    config_dir_var: "OPENCODE_CONFIG_DIR",
    disable_project_var: "OPENCODE_DISABLE_PROJECT_CONFIG",
    global_files: &["config.json", "opencode.json", "opencode.jsonc"],
    project_stems: &["opencode"],
    dot_dirs: &[".opencode"],
    dir_files: &["opencode.json", "opencode.jsonc"],
    own_provider: "opencode",
    own_sdk: None,
};
