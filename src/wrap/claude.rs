//! Claude Code: inline `--settings` whose `env` block points it at the
//! proxy. Inline settings beat the `env` block of the user's settings
//! files, which in turn beats the process environment, so a plain variable
//! would not do.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::proxy::upstream::Upstream;

use super::agent::{
    names_upstream, proxied_base_url, words_before_dashes, AgentSpec, Context, Launch, Routed,
    Setup, Shown, UPSTREAM_HEADER,
};
use super::environment::Environment;
use super::mask;

pub const AGENT: AgentSpec = AgentSpec {
    name: "claude",
    title: "Claude Code",
    binary: "claude",
    bin_var: "HEADROOM_CLAUDE_BIN",
    install: "npm install -g @anthropic-ai/claude-code",
    read_setup,
};

const DEFAULT_UPSTREAM: &str = "https://api.anthropic.com";
const BASE_URL: &str = "ANTHROPIC_BASE_URL";
const CUSTOM_HEADERS: &str = "ANTHROPIC_CUSTOM_HEADERS";
/// Claude Code turns its deferred tool schemas (tool search) off when
/// `ANTHROPIC_BASE_URL` is not api.anthropic.com, unless this is set.
const TOOL_SEARCH: &str = "ENABLE_TOOL_SEARCH";
const FIRST_PARTY_HOST: &str = "api.anthropic.com";
/// Switches to clouds whose requests a base-URL swap cannot carry: their
/// URLs and signatures are built by the SDK for the cloud.
const CLOUDS: [(&str, &str); 3] = [
    ("CLAUDE_CODE_USE_BEDROCK", "Amazon Bedrock"),
    ("CLAUDE_CODE_USE_VERTEX", "Google Vertex AI"),
    ("CLAUDE_CODE_USE_FOUNDRY", "Microsoft Foundry"),
];

/// Claude Code's settings files, highest precedence first. The managed
/// file is above the command line's `--settings`; the others below it.
struct SettingsFiles {
    managed: PathBuf,
    below_flag: Vec<PathBuf>,
}

impl SettingsFiles {
    fn of(env: &Environment) -> SettingsFiles {
        let config_dir = match env.non_empty("CLAUDE_CONFIG_DIR") {
            Some(dir) => env.resolve(dir),
            None => env.home.join(".claude"),
        };
        let project = env.cwd.join(".claude");
        SettingsFiles {
            managed: env.system_config.join("claude-code/managed-settings.json"),
            below_flag: vec![
                project.join("settings.local.json"),
                project.join("settings.json"),
                config_dir.join("settings.json"),
            ],
        }
    }
}

/// One variable as Claude Code would see it, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    value: String,
    from: String,
}

/// The `env` blocks of the settings files (highest first) over the process
/// environment: what Claude Code runs with.
struct Effective {
    managed_file: PathBuf,
    managed: Map<String, Value>,
    settings: Vec<(PathBuf, Map<String, Value>)>,
}

impl Effective {
    fn read(env: &Environment) -> Effective {
        let files = SettingsFiles::of(env);
        Effective {
            managed: env_block(&files.managed),
            managed_file: files.managed,
            settings: files
                .below_flag
                .into_iter()
                .map(|path| {
                    let block = env_block(&path);
                    (path, block)
                })
                .collect(),
        }
    }

    /// The variable from the settings below the flag, else the process.
    fn var(&self, env: &Environment, name: &str) -> Option<Found> {
        for (path, block) in &self.settings {
            if let Some(value) = block.get(name).and_then(Value::as_str) {
                return Some(Found {
                    value: value.to_string(),
                    from: path.display().to_string(),
                });
            }
        }
        env.var(name).map(|value| Found {
            value: value.to_string(),
            from: name.to_string(),
        })
    }

    fn managed_sets(&self, name: &str) -> bool {
        self.managed.contains_key(name)
    }
}

/// A settings file's `env` block; nothing when the file is missing or not
/// JSON, as Claude Code then ignores it too.
fn env_block(path: &Path) -> Map<String, Value> {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|settings| settings.get("env")?.as_object().cloned())
        .unwrap_or_default()
}

#[derive(Debug)]
struct ClaudeSetup {
    upstream: String,
    /// The user's own custom headers, kept beside headroom's.
    custom_headers: Option<String>,
    /// Keep tool search on, as Claude Code has it for the first-party API
    /// that the proxy forwards to (its own default, `true`).
    keep_tool_search: bool,
    unroutable: Option<String>,
}

fn read_setup(context: &Context) -> anyhow::Result<Box<dyn Setup>> {
    let mut setup = setup(context.env);
    if setup.unroutable.is_none() && names_settings(context.args) {
        setup.unroutable = Some(
            "--settings among Claude Code's arguments replaces headroom's (Claude Code keeps the last), so its requests would not reach the proxy; put those settings in .claude/settings.local.json instead".into(),
        );
    }
    Ok(Box::new(setup))
}

/// Do the user's arguments give Claude Code settings of their own?
fn names_settings(args: &[std::ffi::OsString]) -> bool {
    words_before_dashes(args)
        .any(|(word, _)| word == "--settings" || word.starts_with("--settings="))
}

fn setup(env: &Environment) -> ClaudeSetup {
    let effective = Effective::read(env);
    let base = effective
        .var(env, BASE_URL)
        .filter(|f| !f.value.trim().is_empty());
    let upstream = base.as_ref().map_or(DEFAULT_UPSTREAM.to_string(), |found| {
        found.value.trim().trim_end_matches('/').to_string()
    });
    let custom_headers = effective
        .var(env, CUSTOM_HEADERS)
        .map(|f| f.value)
        .filter(|v| !v.trim().is_empty());
    let first_party = Upstream::parse(&upstream)
        .is_ok_and(|u| u.origin().host.eq_ignore_ascii_case(FIRST_PARTY_HOST));
    let keep_tool_search = first_party && effective.var(env, TOOL_SEARCH).is_none();
    let unroutable = why_unroutable(env, &effective, &upstream, custom_headers.as_deref(), base);
    ClaudeSetup {
        upstream,
        custom_headers,
        keep_tool_search,
        unroutable,
    }
}

fn why_unroutable(
    env: &Environment,
    effective: &Effective,
    upstream: &str,
    custom_headers: Option<&str>,
    base: Option<Found>,
) -> Option<String> {
    for name in [BASE_URL, CUSTOM_HEADERS] {
        if effective.managed_sets(name) {
            return Some(format!(
                "{} sets {name}, and managed settings win over headroom's",
                effective.managed_file.display()
            ));
        }
    }
    for (var, cloud) in CLOUDS {
        // Claude Code's own reading of a boolean variable.
        let on = effective.var(env, var).is_some_and(|f| {
            let value = f.value.trim().to_ascii_lowercase();
            matches!(value.as_str(), "1" | "true" | "yes" | "on")
        });
        if on {
            return Some(format!(
                "Claude Code is set to use {cloud} ({var}), whose requests a base-URL swap cannot carry"
            ));
        }
    }
    if custom_headers.is_some_and(|headers| names_upstream(headers, '\n')) {
        return Some(format!(
            "Claude Code is already routed through a headroom proxy ({CUSTOM_HEADERS} sets {UPSTREAM_HEADER})"
        ));
    }
    if let Err(e) = Upstream::parse(upstream) {
        let from = base.map_or_else(|| BASE_URL.to_string(), |f| f.from);
        return Some(format!("{BASE_URL} from {from} is not a valid URL: {e}"));
    }
    None
}

impl Setup for ClaudeSetup {
    fn unroutable(&self) -> Option<String> {
        self.unroutable.clone()
    }

    /// Claude Code probes its base URL (`HEAD /`) without its custom
    /// headers; the probe goes where the agent would have sent it.
    fn default_upstream(&self) -> Option<String> {
        Some(self.upstream.clone())
    }

    fn launch(&self, proxy_origin: &str, _dir: &Path) -> anyhow::Result<Launch> {
        let base_url = proxied_base_url(proxy_origin, &self.upstream);
        let mut headers = format!("{UPSTREAM_HEADER}: {}", self.upstream);
        if let Some(own) = &self.custom_headers {
            headers.push('\n');
            headers.push_str(own);
        }
        let settings = |headers: &str| {
            let mut env = json!({BASE_URL: base_url, CUSTOM_HEADERS: headers});
            if self.keep_tool_search {
                env[TOOL_SEARCH] = json!("true");
            }
            json!({ "env": env }).to_string()
        };
        Ok(Launch {
            routed: vec![Routed {
                id: "anthropic".into(),
                upstream: self.upstream.clone(),
                base_url: base_url.clone(),
                names_itself: false,
            }],
            args: vec![
                Shown::plain("--settings"),
                Shown::masked(
                    settings(&headers),
                    settings(&mask::header_lines(&headers, '\n')),
                ),
            ],
            ..Launch::default()
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::wrap::environment::testing::{env_in, write};

    fn settings_arg(launch: &Launch) -> (Value, Value) {
        assert_eq!(launch.args[0].real, "--settings");
        let real = serde_json::from_str(&launch.args[1].real).unwrap();
        let shown = serde_json::from_str(&launch.args[1].shown).unwrap();
        (real, shown)
    }

    #[test]
    fn the_public_api_without_any_setting() {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        let setup = setup(&env);
        assert_eq!(setup.unroutable, None);
        let launch = setup.launch("http://127.0.0.1:9", Path::new("/d")).unwrap();
        let (real, _) = settings_arg(&launch);
        assert_eq!(
            real,
            json!({"env": {
                "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
                "ANTHROPIC_CUSTOM_HEADERS": "X-Headroom-Upstream: https://api.anthropic.com",
                "ENABLE_TOOL_SEARCH": "true",
            }})
        );
        assert_eq!(launch.routed[0].upstream, "https://api.anthropic.com");
        assert!(launch.env.is_empty() && launch.files.is_empty());
    }

    #[test]
    fn settings_files_beat_the_environment_nearest_first() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars
            .insert(BASE_URL.into(), "https://from-env.dev/".into());
        assert_eq!(setup(&env).upstream, "https://from-env.dev");
        let user = env.home.join(".claude/settings.json");
        write(
            &user,
            r#"{"env": {"ANTHROPIC_BASE_URL": "https://user.dev/anthropic"}}"#,
        );
        assert_eq!(setup(&env).upstream, "https://user.dev/anthropic");
        write(
            &env.cwd.join(".claude/settings.json"),
            r#"{"env": {"ANTHROPIC_BASE_URL": "https://project.dev"}}"#,
        );
        assert_eq!(setup(&env).upstream, "https://project.dev");
        write(
            &env.cwd.join(".claude/settings.local.json"),
            r#"{"env": {"ANTHROPIC_BASE_URL": "https://local.dev/v1"}}"#,
        );
        let local = setup(&env);
        assert_eq!(local.upstream, "https://local.dev/v1");
        let launch = local.launch("http://127.0.0.1:9", Path::new("/d")).unwrap();
        assert_eq!(launch.routed[0].base_url, "http://127.0.0.1:9/v1");
        let (real, _) = settings_arg(&launch);
        assert!(real["env"].get(TOOL_SEARCH).is_none(), "{real}");
        // CLAUDE_CONFIG_DIR moves the user's file.
        let moved = root.path().join("claude-home");
        write(
            &moved.join("settings.json"),
            r#"{"env": {"ANTHROPIC_BASE_URL": "https://moved.dev"}}"#,
        );
        std::fs::remove_file(env.cwd.join(".claude/settings.local.json")).unwrap();
        std::fs::remove_file(env.cwd.join(".claude/settings.json")).unwrap();
        env.vars
            .insert("CLAUDE_CONFIG_DIR".into(), moved.display().to_string());
        assert_eq!(setup(&env).upstream, "https://moved.dev");
    }

    #[test]
    fn the_users_own_tool_search_choice_is_left_to_them() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars.insert(TOOL_SEARCH.into(), "false".into());
        let launch = setup(&env)
            .launch("http://127.0.0.1:9", Path::new("/d"))
            .unwrap();
        let (real, _) = settings_arg(&launch);
        assert!(real["env"].get(TOOL_SEARCH).is_none(), "{real}");
    }

    /// The custom headers the child gets, and those a dry run shows, with
    /// `var` set to `value`.
    fn custom_headers_with(var: &str, value: &str) -> (Value, Value) {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars.insert(var.into(), value.into());
        let launch = setup(&env)
            .launch("http://127.0.0.1:9", Path::new("/d"))
            .unwrap();
        let (real, shown) = settings_arg(&launch);
        (
            real["env"][CUSTOM_HEADERS].clone(),
            shown["env"][CUSTOM_HEADERS].clone(),
        )
    }

    #[test]
    fn the_users_custom_headers_are_kept_and_masked_in_the_dry_run() {
        let (real, shown) = custom_headers_with(CUSTOM_HEADERS, "X-Gateway-Key: s3cret");
        assert_eq!(
            real,
            "X-Headroom-Upstream: https://api.anthropic.com\nX-Gateway-Key: s3cret"
        );
        assert_eq!(
            shown,
            "X-Headroom-Upstream: https://api.anthropic.com\nX-Gateway-Key: ***"
        );
    }

    #[test]
    fn a_password_or_query_in_the_base_url_reaches_the_child_but_not_the_dry_run() {
        let (real, shown) = custom_headers_with(
            BASE_URL,
            "https://user:s3cretpw@gw.example/v1?key=SECRETKEY",
        );
        assert_eq!(
            real,
            "X-Headroom-Upstream: https://user:s3cretpw@gw.example/v1?key=SECRETKEY"
        );
        assert_eq!(
            shown,
            "X-Headroom-Upstream: https://user:***@gw.example/v1?key=***"
        );
    }

    #[test]
    fn clouds_managed_overrides_and_nesting_are_unroutable() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars
            .insert("CLAUDE_CODE_USE_BEDROCK".into(), "1".into());
        let why = setup(&env).unroutable.unwrap();
        assert!(why.contains("Amazon Bedrock"), "{why}");
        env.vars
            .insert("CLAUDE_CODE_USE_BEDROCK".into(), "0".into());
        assert_eq!(setup(&env).unroutable, None);
        write(
            &env.home.join(".claude/settings.json"),
            r#"{"env": {"CLAUDE_CODE_USE_VERTEX": "true"}}"#,
        );
        assert!(setup(&env).unroutable.unwrap().contains("Vertex"));
        std::fs::remove_file(env.home.join(".claude/settings.json")).unwrap();
        env.vars.insert(
            CUSTOM_HEADERS.into(),
            "x-headroom-upstream: https://api.anthropic.com".into(),
        );
        assert!(setup(&env).unroutable.unwrap().contains("already routed"));
        env.vars.remove(CUSTOM_HEADERS);
        write(
            &env.system_config.join("claude-code/managed-settings.json"),
            r#"{"env": {"ANTHROPIC_BASE_URL": "https://corp.dev"}}"#,
        );
        assert!(setup(&env).unroutable.unwrap().contains("managed"));
    }

    #[test]
    fn settings_among_the_arguments_are_unroutable() {
        let root = tempfile::tempdir().unwrap();
        let env = env_in(root.path());
        let unroutable = |args: &[&str]| {
            let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            let context = Context {
                env: &env,
                only: &[],
                skip: &[],
                args: &args,
                spill_dir: None,
            };
            read_setup(&context).unwrap().unroutable()
        };
        assert_eq!(unroutable(&["-p", "hi"]), None);
        assert_eq!(unroutable(&["-p", "--", "--settings"]), None);
        for args in [
            &["--settings", "s.json"][..],
            &["-p", "hi", "--settings={}"],
        ] {
            let why = unroutable(args).unwrap_or_default();
            assert!(
                why.starts_with("--settings among Claude Code's arguments"),
                "{why}"
            );
        }
    }

    #[test]
    fn a_base_url_that_is_no_url_is_unroutable_naming_where_it_is_set() {
        let root = tempfile::tempdir().unwrap();
        let mut env = env_in(root.path());
        env.vars.insert(BASE_URL.into(), "api.corp".into());
        let why = setup(&env).unroutable.unwrap();
        assert!(
            why.starts_with("ANTHROPIC_BASE_URL from ANTHROPIC_BASE_URL"),
            "{why}"
        );
    }
}
