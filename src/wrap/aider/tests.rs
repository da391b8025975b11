#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::ffi::OsString;

use super::*;
use crate::wrap::environment::testing::{env_in, write};
use crate::wrap::environment::Environment;

const PROXY: &str = "http://127.0.0.1:9";

fn setup_of(env: &Environment, args: &[&str]) -> AiderSetup {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    setup(&AiderSettings::read(env, &args).unwrap())
}

fn launch_of(env: &Environment, args: &[&str]) -> Launch {
    setup_of(env, args)
        .launch(PROXY, Path::new("/run/d"))
        .unwrap()
}

fn upstream(env: &Environment, args: &[&str], family: &str) -> String {
    let launch = launch_of(env, args);
    let routed = launch.routed.iter().find(|r| r.id == family);
    routed.map(|r| r.upstream.clone()).unwrap_or_default()
}

fn env_value(launch: &Launch, name: &str) -> Option<String> {
    launch
        .env
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.real.clone())
}

#[test]
fn without_settings_each_family_goes_to_its_public_api() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    let setup = setup_of(&env, &[]);
    let launch = setup.launch(PROXY, Path::new("/run/d")).unwrap();
    let routed: Vec<(&str, &str, &str)> = launch
        .routed
        .iter()
        .map(|r| (r.id.as_str(), r.upstream.as_str(), r.base_url.as_str()))
        .collect();
    assert_eq!(
        routed,
        [
            (
                "openai",
                "https://api.openai.com/v1",
                "http://127.0.0.1:9/v1"
            ),
            (
                "anthropic",
                "https://api.anthropic.com",
                "http://127.0.0.1:9"
            ),
            (
                "gemini",
                "https://generativelanguage.googleapis.com/v1beta",
                "http://127.0.0.1:9/v1beta"
            ),
        ]
    );
    let env_names: Vec<&str> = launch.env.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        env_names,
        ["OPENAI_BASE_URL", "ANTHROPIC_API_BASE", "GEMINI_API_BASE"]
    );
    assert!(launch.args.is_empty() && launch.files.is_empty());
    assert_eq!(launch.left_alone.len(), 1, "{:?}", launch.left_alone);
    assert_eq!(
        setup.family_upstreams(),
        [
            Some("https://api.openai.com/v1".to_string()),
            Some("https://api.anthropic.com".to_string()),
            Some("https://generativelanguage.googleapis.com/v1beta".to_string()),
        ]
    );
    assert!(setup.warnings().is_empty());
}

#[test]
fn the_variable_litellm_reads_first_is_the_upstream() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    env.vars
        .insert("OPENAI_API_BASE".into(), "https://second.dev/v1/".into());
    env.vars.insert(
        "ANTHROPIC_BASE_URL".into(),
        "https://gw.dev/anthropic".into(),
    );
    assert_eq!(upstream(&env, &[], "openai"), "https://second.dev/v1");
    assert_eq!(upstream(&env, &[], "anthropic"), "https://gw.dev/anthropic");
    env.vars
        .insert("OPENAI_BASE_URL".into(), "https://first.dev/v1".into());
    env.vars
        .insert("ANTHROPIC_API_BASE".into(), "https://api-base.dev".into());
    assert_eq!(upstream(&env, &[], "openai"), "https://first.dev/v1");
    assert_eq!(upstream(&env, &[], "anthropic"), "https://api-base.dev");
    // An empty variable counts as unset, as litellm reads it.
    env.vars.insert("OPENAI_BASE_URL".into(), String::new());
    assert_eq!(upstream(&env, &[], "openai"), "https://second.dev/v1");
}

#[test]
fn config_files_then_variables_then_arguments_set_openai_api_base() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    write(
        &env.home.join(".aider.conf.yml"),
        "openai-api-base: https://home.dev/v1\nmodel: gpt-4o\n",
    );
    assert_eq!(upstream(&env, &[], "openai"), "https://home.dev/v1");
    // The git root's (here the temp root, which holds .git) beats home's.
    write(
        &root.path().join(".aider.conf.yml"),
        "openai-api-base: https://repo.dev/v1\n",
    );
    assert_eq!(upstream(&env, &[], "openai"), "https://repo.dev/v1");
    write(
        &env.cwd.join(".aider.conf.yml"),
        "openai-api-base: https://cwd.dev/v1\n",
    );
    assert_eq!(upstream(&env, &[], "openai"), "https://cwd.dev/v1");
    let named = root.path().join("named.yml");
    write(&named, "openai-api-base: https://named.dev/v1\n");
    let config = named.display().to_string();
    assert_eq!(
        upstream(&env, &["--config", &config], "openai"),
        "https://named.dev/v1"
    );
    env.vars
        .insert("AIDER_OPENAI_API_BASE".into(), "https://var.dev/v1".into());
    assert_eq!(upstream(&env, &[], "openai"), "https://var.dev/v1");
    assert_eq!(
        upstream(&env, &["--openai-api-base=https://arg.dev/v1"], "openai"),
        "https://arg.dev/v1"
    );
    // litellm reads OPENAI_BASE_URL before the OPENAI_API_BASE these set.
    env.vars
        .insert("OPENAI_BASE_URL".into(), "https://wins.dev/v1".into());
    assert_eq!(
        upstream(&env, &["--openai-api-base", "https://arg.dev/v1"], "openai"),
        "https://wins.dev/v1"
    );
}

#[test]
fn a_dotenv_file_that_sets_the_variable_gets_an_env_file_after_it() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    env.vars
        .insert("ANTHROPIC_API_BASE".into(), "https://env.dev".into());
    write(
        &env.home.join(".env"),
        "ANTHROPIC_API_BASE=https://home-dotenv.dev\n",
    );
    assert_eq!(upstream(&env, &[], "anthropic"), "https://home-dotenv.dev");
    write(
        &env.cwd.join(".env"),
        "# project\nexport ANTHROPIC_API_BASE=\"https://cwd-dotenv.dev\"\n",
    );
    let launch = launch_of(&env, &[]);
    let anthropic = launch.routed.iter().find(|r| r.id == "anthropic").unwrap();
    assert_eq!(anthropic.upstream, "https://cwd-dotenv.dev");
    assert_eq!(
        env_value(&launch, "ANTHROPIC_API_BASE").as_deref(),
        Some(PROXY)
    );
    assert_eq!(launch.files.len(), 1);
    assert_eq!(
        launch.files[0].contents.real,
        "ANTHROPIC_API_BASE=http://127.0.0.1:9\n"
    );
    let args: Vec<&str> = launch.args.iter().map(|a| a.real.as_str()).collect();
    assert_eq!(args, ["--env-file", "/run/d/aider.env"]);
}

#[test]
fn a_named_env_file_is_carried_over_and_masked_in_the_dry_run() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    let named = root.path().join("secrets.env");
    write(
        &named,
        "OPENAI_API_KEY=sk-secret\nOPENAI_BASE_URL=https://named.dev/v1\n",
    );
    write(
        &env.cwd.join(".aider.conf.yml"),
        &format!("env-file: {}\n", named.display()),
    );
    let launch = launch_of(&env, &[]);
    let openai = launch.routed.iter().find(|r| r.id == "openai").unwrap();
    assert_eq!(openai.upstream, "https://named.dev/v1");
    let contents = &launch.files[0].contents;
    assert!(contents.real.starts_with("OPENAI_API_KEY=sk-secret\n"));
    assert!(contents
        .real
        .ends_with("\nOPENAI_BASE_URL=http://127.0.0.1:9/v1\n"));
    assert!(!contents.shown.contains("sk-secret"), "{}", contents.shown);
    // Named among the user's own arguments, it would replace headroom's.
    let file = named.display().to_string();
    let setup = setup_of(&env, &["--env-file", &file]);
    let launch = setup.launch(PROXY, Path::new("/run/d")).unwrap();
    assert!(launch.routed.iter().all(|r| r.id != "openai"));
    assert!(launch.files.is_empty());
    let left = launch.left_alone.iter().find(|l| l.id == "openai").unwrap();
    assert!(left.reason.contains("--env-file"), "{}", left.reason);
    assert_eq!(setup.warnings().len(), 1);
    assert_eq!(setup.family_upstreams()[Family::OpenAi.index()], None);
}

#[test]
fn set_env_of_the_variable_headroom_sets_leaves_that_family_alone() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    write(
        &env.home.join(".aider.conf.yml"),
        "set-env:\n  - ANTHROPIC_BASE_URL=https://set.dev\n  - GEMINI_API_BASE=https://g.dev/v1beta\n",
    );
    let launch = launch_of(&env, &[]);
    // ANTHROPIC_BASE_URL is read after the variable headroom sets.
    let anthropic = launch.routed.iter().find(|r| r.id == "anthropic").unwrap();
    assert_eq!(anthropic.upstream, "https://set.dev");
    let gemini = launch.left_alone.iter().find(|l| l.id == "gemini").unwrap();
    assert!(gemini.reason.contains("set-env in"), "{}", gemini.reason);
    assert_eq!(env_value(&launch, "GEMINI_API_BASE"), None);
    // The arguments' set-env replaces the config files'.
    let args = ["--set-env", "OPENAI_BASE_URL=https://x.dev/v1"];
    let launch = launch_of(&env, &args);
    assert!(launch.routed.iter().any(|r| r.id == "gemini"));
    assert!(launch.left_alone.iter().any(|l| l.id == "openai"));
}

#[test]
fn base_urls_the_proxy_could_not_tell_apart_or_parse_are_left_alone() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    // Gemini's requests under a base without /v1beta look like OpenAI's.
    env.vars
        .insert("GEMINI_API_BASE".into(), "https://gw.dev/gemini".into());
    env.vars.insert("OPENAI_BASE_URL".into(), "api.corp".into());
    let launch = launch_of(&env, &[]);
    let ids: Vec<&str> = launch.routed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["anthropic"]);
    let reasons: Vec<&str> = launch
        .left_alone
        .iter()
        .map(|l| l.reason.as_str())
        .collect();
    assert!(
        reasons[0].starts_with("OPENAI_BASE_URL from the environment is not a valid URL"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("another family"), "{reasons:?}");
}

#[test]
fn a_config_that_is_not_yaml_is_an_error_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    write(&env.home.join(".aider.conf.yml"), "model: [unclosed\n");
    let error = AiderSettings::read(&env, &[]).unwrap_err().to_string();
    assert!(error.contains(".aider.conf.yml: not valid YAML"), "{error}");
}

/// Aliases of aliases, nine deep: a few hundred bytes that the loader
/// would expand to 9^9 values.
fn alias_bomb() -> String {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for level in 1..9 {
        let refs = vec![format!("*a{}", level - 1); 9].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    text
}

#[test]
fn a_config_whose_aliases_would_fill_memory_is_refused_unread() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    write(&env.cwd.join(".aider.conf.yml"), &alias_bomb());
    let started = std::time::Instant::now();
    let error = AiderSettings::read(&env, &[]).unwrap_err().to_string();
    assert!(error.contains("its YAML aliases expand to over"), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Aliases a real config might use are read as before.
    write(
        &env.cwd.join(".aider.conf.yml"),
        "base: &base https://gw.example/v1\nopenai-api-base: *base\n",
    );
    assert_eq!(upstream(&env, &[], "openai"), "https://gw.example/v1");
}
