#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::path::Path;

use serde_json::{json, Value};

use super::*;
use crate::wrap::agent::{Context, Launch, Setup};
use crate::wrap::environment::testing::{env_in, staircase, write};

const PROXY: &str = "http://127.0.0.1:41234";

fn setup(env: &Environment, only: &[&str]) -> anyhow::Result<Box<dyn Setup>> {
    let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
    let context = Context {
        env,
        only: &only,
        skip: &[],
        args: &[],
        spill_dir: None,
    };
    (AGENT.read_setup)(&context)
}

fn launch(env: &Environment) -> Launch {
    setup(env, &[])
        .unwrap()
        .launch(PROXY, Path::new("/d"))
        .unwrap()
}

/// The child's `KILO_CONFIG_CONTENT`, parsed.
fn content(launch: &Launch) -> Value {
    let names: Vec<&str> = launch.env.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["KILO_CONFIG_CONTENT"], "the child's only variable");
    serde_json::from_str(&launch.env[0].1.real).unwrap()
}

fn merged(env: &Environment) -> Value {
    Value::Object(opencode::load(env, &KILO).unwrap().merged)
}

#[test]
fn layers_apply_in_kilos_order_under_kilos_names() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    let names = [
        "global-kilo.json",
        "global-opencode.jsonc",
        "kilo-config",
        "project-kilo.json",
        "project-opencode.json",
        "dot-kilocode",
        "dot-kilo-opencode.json",
        "home-dot-kilo",
        "config-dir",
        "content",
        "managed",
    ];
    let layer = |i| staircase(&names, i);
    write(&env.home.join(".config/kilo/kilo.json"), &layer(0));
    write(&env.home.join(".config/kilo/opencode.jsonc"), &layer(1));
    let explicit = root.path().join("explicit.jsonc");
    write(&explicit, &layer(2));
    write(&env.cwd.join("kilo.json"), &layer(3));
    write(&env.cwd.join("opencode.json"), &layer(4));
    write(&env.cwd.join(".kilocode/kilo.jsonc"), &layer(5));
    write(&env.cwd.join(".kilo/opencode.json"), &layer(6));
    write(&env.home.join(".kilo/kilo.json"), &layer(7));
    let config_dir = root.path().join("cfgdir");
    write(&config_dir.join("kilo.json"), &layer(8));
    write(&env.system_config.join("kilo/kilo.json"), &layer(10));
    // opencode's own names are not Kilo's.
    write(
        &env.home.join(".config/opencode/opencode.json"),
        r#"{"k0": "x"}"#,
    );
    write(&env.cwd.join(".opencode/opencode.json"), r#"{"k0": "x"}"#);
    env.vars
        .insert("KILO_CONFIG".into(), explicit.display().to_string());
    env.vars
        .insert("KILO_CONFIG_DIR".into(), config_dir.display().to_string());
    env.vars.insert("KILO_CONFIG_CONTENT".into(), layer(9));
    env.vars
        .insert("OPENCODE_CONFIG_CONTENT".into(), r#"{"k9": "x"}"#.into());

    let got = merged(&env);
    for (j, name) in names.iter().enumerate() {
        assert_eq!(got[format!("k{j}")], json!(name), "{got}");
    }
    let managed = opencode::managed_configs(&env, &KILO);
    assert_eq!(managed, [env.system_config.join("kilo/kilo.json")]);
}

#[test]
fn in_one_dir_opencode_json_beats_kilo_jsonc() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    let dir = env.cwd.join(".kilo");
    for (i, name) in DIR_FILES.iter().enumerate() {
        write(&dir.join(name), &staircase(&DIR_FILES, i));
    }
    let got = merged(&env);
    for (j, name) in DIR_FILES.iter().enumerate() {
        assert_eq!(got[format!("k{j}")], json!(name), "{got}");
    }
}

#[test]
fn the_kilo_gateway_is_routed_to_where_kilo_sends_it() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    env.vars.insert("KILO_API_KEY".into(), "kilo-token".into());
    let launch = launch(&env);
    let routed: Vec<(&str, &str, &str)> = launch
        .routed
        .iter()
        .map(|r| (r.id.as_str(), r.upstream.as_str(), r.base_url.as_str()))
        .collect();
    // Its SDK puts `/api/openrouter/` after the base URL's root.
    assert_eq!(routed, [("kilo", "https://api.kilo.ai", PROXY)]);
    let child = content(&launch);
    assert_eq!(
        child,
        json!({"provider": {"kilo": {"options": {
            "baseURL": PROXY,
            "headers": {
                "X-Headroom-Upstream": "https://api.kilo.ai",
                "X-Headroom-Provider": "kilo",
            }
        }}}})
    );
    // The key stays where the user put it: in the environment.
    assert!(!launch.env[0].1.real.contains("kilo-token"));

    env.vars
        .insert("KILO_API_URL".into(), "http://127.0.0.1:9/mock".into());
    let setup = setup(&env, &[]).unwrap();
    // Kilo lists the gateway's models without its headers.
    assert_eq!(
        setup.default_upstream().as_deref(),
        Some("http://127.0.0.1:9/mock")
    );
}

#[test]
fn the_gateway_root_is_the_base_up_to_its_last_api_segment() {
    for (base, root) in [
        ("https://api.kilo.ai", "https://api.kilo.ai"),
        ("https://api.kilo.ai/api/openrouter/", "https://api.kilo.ai"),
        ("https://gw.corp/p/api/gateway?x=1", "https://gw.corp/p"),
        ("https://gw.corp/api/a/api/b", "https://gw.corp/api/a"),
        ("http://127.0.0.1:9/kilo/", "http://127.0.0.1:9/kilo"),
    ] {
        assert_eq!(gateway_root(base), root, "{base}");
    }
}

#[test]
fn a_base_url_in_kilos_config_is_the_upstream() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    write(
        &env.cwd.join("kilo.jsonc"),
        r#"{
            // the user's own gateway
            "provider": {
                "kilo": {"options": {"baseURL": "https://gw.corp/kilo/api/openrouter"}},
                "mine": {"npm": "@ai-sdk/openai-compatible",
                         "options": {"baseURL": "https://llm.corp/v1/", "apiKey": "sk-mine"}},
            },
        }"#,
    );
    let launch = launch(&env);
    let child = content(&launch);
    let options = |id: &str| child["provider"][id]["options"].clone();
    assert_eq!(options("mine")["baseURL"], format!("{PROXY}/v1"));
    assert_eq!(
        options("mine")["headers"]["X-Headroom-Upstream"],
        "https://llm.corp/v1"
    );
    assert_eq!(
        options("kilo")["headers"]["X-Headroom-Upstream"],
        "https://gw.corp/kilo"
    );
    // The overlay names only base URLs and headers: the key is not in it.
    assert!(options("mine").get("apiKey").is_none());
    assert_eq!(
        setup(&env, &[]).unwrap().default_upstream().as_deref(),
        Some("https://gw.corp/kilo")
    );
}

#[test]
fn the_users_own_content_is_kept_and_credentials_activate_providers() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    write(
        &env.home.join(".local/share/kilo/auth.json"),
        r#"{"deepseek": {"type": "api", "key": "sk-secret"}}"#,
    );
    env.vars.insert(
        "KILO_CONFIG_CONTENT".into(),
        r#"{"model": "deepseek/deepseek-chat", /* mine */}"#.into(),
    );
    let launch = launch(&env);
    let ids: Vec<&str> = launch.routed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["deepseek", "kilo"]);
    let child = content(&launch);
    assert_eq!(child["model"], "deepseek/deepseek-chat");
    assert_eq!(
        child["provider"]["deepseek"]["options"]["headers"]["X-Headroom-Upstream"],
        "https://api.deepseek.com"
    );

    env.vars.insert(
        "KILO_AUTH_CONTENT".into(),
        r#"{"groq": {"type": "api", "key": "k"}}"#.into(),
    );
    let launch = self::launch(&env);
    let ids: Vec<&str> = launch.routed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["groq", "kilo"]);
}

#[test]
fn a_gateway_left_alone_sets_no_default_and_errors_name_kilo() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    env.vars.insert("GROQ_API_KEY".into(), "k".into());
    let only_groq = setup(&env, &["groq"]).unwrap();
    assert_eq!(only_groq.default_upstream(), None);
    let error = setup(&env, &["nope"]).err().unwrap().to_string();
    assert_eq!(
        error,
        "--only nope names no provider that is active in Kilo; active providers: groq, kilo"
    );
    env.vars
        .insert("KILO_CONFIG_CONTENT".into(), "{\"a\": }".into());
    let error = setup(&env, &[]).err().unwrap().to_string();
    assert!(error.starts_with("KILO_CONFIG_CONTENT:1:"), "{error}");
}
