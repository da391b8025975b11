#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::wrap::opencode::auth::AuthKind;
use crate::wrap::opencode::environment::testing::{env_in, write};
use crate::wrap::opencode::{config_content, load, OPENCODE};
use serde_json::{json, Value};

const PROXY: &str = "http://127.0.0.1:41234";

struct Case {
    _root: tempfile::TempDir,
    env: Environment,
}

fn case(vars: &[(&str, &str)]) -> Case {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    for (k, v) in vars {
        env.vars.insert(k.to_string(), v.to_string());
    }
    Case { _root: root, env }
}

fn run(case: &Case, merged: Value, auth: &[(&str, AuthKind)], selection: &Selection) -> Plan {
    plan(
        &UserConfig::from_parts(merged, auth),
        &case.env,
        PROXY,
        selection,
    )
}

fn routed<'a>(plan: &'a Plan, id: &str) -> Option<&'a Routed> {
    plan.routed.iter().find(|r| r.id == id)
}

fn reason<'a>(plan: &'a Plan, id: &str) -> Option<&'a str> {
    plan.left_alone
        .iter()
        .find(|l| l.id == id)
        .map(|l| l.reason.as_str())
}

#[test]
fn version_segment_moves_to_the_proxy_base_url() {
    let case = case(&[("OPENROUTER_API_KEY", "k"), ("ZHIPU_API_KEY", "k")]);
    let plan = run(&case, json!({}), &[], &Selection::default());
    let or = routed(&plan, "openrouter").unwrap();
    assert_eq!(or.base_url, "http://127.0.0.1:41234/v1");
    assert_eq!(or.upstream, "https://openrouter.ai/api/v1");
    let zai = routed(&plan, "zai").unwrap();
    assert_eq!(zai.base_url, PROXY);
    assert_eq!(zai.upstream, "https://api.z.ai/api/paas/v4");
    let ids: Vec<&str> = plan.routed.iter().map(|r| r.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    assert!(
        ids.starts_with(&["opencode", "openrouter", "zai"]),
        "{ids:?}"
    );
    assert_eq!(
        plan.overlay["provider"]["zai"]["options"],
        json!({"baseURL": PROXY, "headers": {
            "X-Headroom-Upstream": "https://api.z.ai/api/paas/v4",
            "X-Headroom-Provider": "zai",
        }})
    );
}

#[test]
fn overlay_names_only_routed_providers() {
    let case = case(&[("GROQ_API_KEY", "k")]);
    let auth = [("github-copilot", AuthKind::OAuth)];
    let plan = run(&case, json!({}), &auth, &Selection::default());
    let named: Vec<&String> = plan.overlay["provider"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(named, ["groq", "opencode"]);
    assert!(reason(&plan, "github-copilot").is_some());
    assert!(
        reason(&plan, "anthropic").is_none(),
        "inactive providers are not listed"
    );
}

#[test]
fn chatgpt_login_and_copilot_are_left_alone() {
    let case = case(&[]);
    let auth = [
        ("openai", AuthKind::OAuth),
        ("github-copilot", AuthKind::OAuth),
    ];
    let plan = run(&case, json!({}), &auth, &Selection::default());
    assert!(reason(&plan, "openai").unwrap().contains("ChatGPT"));
    assert!(reason(&plan, "github-copilot")
        .unwrap()
        .contains("fetch hook"));

    let plan = run(
        &case,
        json!({}),
        &[("openai", AuthKind::Api)],
        &Selection::default(),
    );
    assert_eq!(
        routed(&plan, "openai").unwrap().base_url,
        "http://127.0.0.1:41234/v1"
    );
}

#[test]
fn a_base_url_at_the_proxy_is_left_alone() {
    let case = case(&[]);
    for base_url in [
        "http://127.0.0.1:41234/v1",
        "http://localhost:41234/v1",
        "http://[::1]:41234/v1",
        "http://127.0.0.2:41234",
    ] {
        let config = json!({"provider": {"looped": {"npm": "@ai-sdk/openai-compatible",
            "options": {"baseURL": base_url}}}});
        let plan = run(&case, config, &[], &Selection::default());
        assert_eq!(
            reason(&plan, "looped"),
            Some("already points at this proxy"),
            "{base_url}"
        );
    }
    let config =
        json!({"provider": {"other": {"options": {"baseURL": "http://127.0.0.1:41235/v1"}}}});
    assert!(routed(&run(&case, config, &[], &Selection::default()), "other").is_some());
}

#[test]
fn an_invalid_base_url_is_left_alone_with_the_reason() {
    let case = case(&[]);
    let config = json!({"provider": {
        "bad": {"options": {"baseURL": "not a url"}},
        "query": {"api": "https://x.dev/v1?key=secret"},
        "odd": {"npm": "some-sdk"},
        "bare": {}
    }});
    let plan = run(&case, config, &[], &Selection::default());
    let bad = reason(&plan, "bad").unwrap();
    assert!(bad.starts_with("baseURL is not a valid URL: "), "{bad}");
    assert!(!reason(&plan, "query").unwrap().contains("secret"));
    assert_eq!(
        reason(&plan, "odd"),
        Some("no known base URL for SDK some-sdk")
    );
    assert!(reason(&plan, "bare").is_some());
}

#[test]
fn a_base_url_that_is_a_full_endpoint_is_left_alone() {
    let case = case(&[]);
    let config = json!({"provider": {
        "full": {"npm": "@ai-sdk/openai-compatible",
            "options": {"baseURL": "https://api.x.dev/v1/chat/completions/"}},
        "base": {"npm": "@ai-sdk/openai-compatible",
            "options": {"baseURL": "https://api.x.dev/chat/v1"}}
    }});
    let plan = run(&case, config, &[], &Selection::default());
    assert_eq!(
        reason(&plan, "full"),
        Some("baseURL is a full endpoint (it ends with /chat/completions), not a base URL")
    );
    assert!(routed(&plan, "base").is_some());
}

#[test]
fn env_vars_in_base_urls_are_expanded() {
    let case = case(&[
        ("DATABRICKS_HOST", "adb.example.com"),
        ("DATABRICKS_TOKEN", "t"),
    ]);
    let plan = run(&case, json!({}), &[], &Selection::default());
    let db = routed(&plan, "databricks").unwrap();
    assert_eq!(db.upstream, "https://adb.example.com/ai-gateway/mlflow/v1");
    assert_eq!(db.base_url, "http://127.0.0.1:41234/v1");
}

#[test]
fn only_and_skip_are_reported() {
    let case = case(&[("GROQ_API_KEY", "k"), ("XAI_API_KEY", "k")]);
    let selection = Selection {
        only: vec!["groq".into(), "xai".into()],
        skip: vec!["xai".into()],
    };
    let plan = run(&case, json!({}), &[], &selection);
    let ids: Vec<&str> = plan.routed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["groq"]);
    assert_eq!(reason(&plan, "opencode"), Some("not named by --only"));
    assert_eq!(reason(&plan, "xai"), Some("excluded by --skip"));
    let left: Vec<&str> = plan.left_alone.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(left, ["opencode", "xai"]);
}

#[test]
fn disabled_providers_are_neither_routed_nor_named() {
    let case = case(&[("GROQ_API_KEY", "k")]);
    let plan = run(
        &case,
        json!({"disabled_providers": ["groq"]}),
        &[],
        &Selection::default(),
    );
    assert!(routed(&plan, "groq").is_none());
    assert!(plan.overlay["provider"].get("groq").is_none());
    let plan = run(
        &case,
        json!({"enabled_providers": ["groq"]}),
        &[],
        &Selection::default(),
    );
    let ids: Vec<&str> = plan.routed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["groq"]);
}

#[test]
fn from_files_to_the_childs_config_content() {
    let case = case(&[]);
    let env = &case.env;
    write(
        &env.home.join(".config/opencode/opencode.jsonc"),
        r#"{ // the user's global config
            "provider": {"anthropic": {"options": {"headers": {"anthropic-beta": "x"}}}},
        }"#,
    );
    write(
        &env.home.join(".local/share/opencode/auth.json"),
        r#"{"deepseek": {"type": "api", "key": "sk-secret"}}"#,
    );
    let existing = r#"{
        // inline, with a header of its own
        "provider": {"deepseek": {"options": {"headers": {"X-Mine": "1"}}}},
    }"#;
    let mut env = env.clone();
    env.vars
        .insert("OPENCODE_CONFIG_CONTENT".into(), existing.into());

    let config = load(&env, &OPENCODE).unwrap();
    let plan = plan(&config, &env, PROXY, &Selection::default());
    let ids: Vec<&str> = plan.routed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["anthropic", "deepseek", "opencode"]);
    let var = "OPENCODE_CONFIG_CONTENT";
    let content = config_content(var, env.var(var), &plan.overlay).unwrap();
    let child: Value = serde_json::from_str(&content).unwrap();
    let deepseek = &child["provider"]["deepseek"]["options"];
    assert_eq!(deepseek["headers"]["X-Mine"], "1");
    assert_eq!(
        deepseek["headers"]["X-Headroom-Upstream"],
        "https://api.deepseek.com"
    );
    assert_eq!(deepseek["baseURL"], PROXY);
    assert_eq!(
        child["provider"]["anthropic"]["options"]["baseURL"],
        "http://127.0.0.1:41234/v1"
    );
    assert!(!content.contains("sk-secret"));
    assert!(!serde_json::to_string(&plan).unwrap().contains("sk-secret"));
}
