#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::ffi::OsString;

use super::*;
use crate::wrap::environment::testing::{env_in, write};
use crate::wrap::environment::Environment;

const PROXY: &str = "http://127.0.0.1:41234";

fn read(env: &Environment, args: &[&str]) -> CodexSetup {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    setup(CodexConfig::read(env, &args).unwrap())
}

/// The `-c` values of a launch, real and shown.
fn overrides(launch: &Launch) -> Vec<(String, String)> {
    launch
        .args
        .chunks(2)
        .map(|pair| {
            assert_eq!(pair[0].real, "-c");
            (pair[1].real.clone(), pair[1].shown.clone())
        })
        .collect()
}

/// The provider table a launch defines.
fn defined(launch: &Launch) -> Table {
    let (real, _) = overrides(launch)
        .into_iter()
        .find(|(real, _)| real.starts_with("model_providers."))
        .unwrap();
    let text = real.replacen("model_providers.headroom=", "v = ", 1);
    text.parse::<Table>().unwrap()["v"]
        .as_table()
        .unwrap()
        .clone()
}

#[test]
fn an_api_key_user_of_the_built_in_provider_goes_to_the_public_api() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    let launch = read(&env, &[]).launch(PROXY, Path::new("/d")).unwrap();
    assert_eq!(overrides(&launch)[0].0, r#"model_provider="headroom""#);
    let provider = defined(&launch);
    assert_eq!(
        provider["base_url"].as_str(),
        Some("http://127.0.0.1:41234/v1")
    );
    assert_eq!(provider["requires_openai_auth"].as_bool(), Some(true));
    assert_eq!(provider["supports_websockets"].as_bool(), Some(false));
    assert_eq!(
        provider["http_headers"]["X-Headroom-Upstream"].as_str(),
        Some("https://api.openai.com/v1")
    );
    assert_eq!(launch.routed[0].id, "openai");
}

#[test]
fn a_chatgpt_login_goes_through_the_backend_path_to_chatgpt() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    write(
        &env.home.join(".codex/auth.json"),
        r#"{"OPENAI_API_KEY": null, "tokens": {"id_token": "x", "access_token": "y"}}"#,
    );
    let launch = read(&env, &[]).launch(PROXY, Path::new("/d")).unwrap();
    let provider = defined(&launch);
    assert_eq!(
        provider["base_url"].as_str(),
        Some("http://127.0.0.1:41234/backend-api/codex")
    );
    assert_eq!(
        provider["http_headers"]["X-Headroom-Upstream"].as_str(),
        Some("https://chatgpt.com")
    );
    write(
        &env.home.join(".codex/auth.json"),
        r#"{"auth_mode": "apikey", "OPENAI_API_KEY": "sk", "tokens": {"a": 1}}"#,
    );
    let api = defined(&read(&env, &[]).launch(PROXY, Path::new("/d")).unwrap());
    assert_eq!(api["base_url"].as_str(), Some("http://127.0.0.1:41234/v1"));
}

#[test]
fn a_custom_provider_is_copied_with_its_headers_and_secrets_masked() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    let home = root.path().join("codex-home");
    env.vars
        .insert("CODEX_HOME".into(), home.display().to_string());
    write(
        &home.join("config.toml"),
        r#"
model_provider = "corp"
[model_providers.corp]
name = "Corp"
base_url = "https://gw.corp.dev/openai/v1/"
env_key = "CORP_KEY"
wire_api = "responses"
query_params = { api-version = "2025-04-01" }
http_headers = { "X-Team" = "t-secret" }
"#,
    );
    let launch = read(&env, &[]).launch(PROXY, Path::new("/d")).unwrap();
    let provider = defined(&launch);
    assert_eq!(provider["name"].as_str(), Some("Corp"));
    assert_eq!(provider["env_key"].as_str(), Some("CORP_KEY"));
    assert_eq!(
        provider["base_url"].as_str(),
        Some("http://127.0.0.1:41234/v1")
    );
    assert_eq!(
        provider["query_params"]["api-version"].as_str(),
        Some("2025-04-01")
    );
    assert_eq!(
        provider["http_headers"]["X-Team"].as_str(),
        Some("t-secret")
    );
    assert_eq!(
        provider["http_headers"]["X-Headroom-Upstream"].as_str(),
        Some("https://gw.corp.dev/openai/v1")
    );
    let (_, shown) = overrides(&launch).pop().unwrap();
    assert!(!shown.contains("t-secret"), "{shown}");
    assert_eq!(launch.routed[0].id, "corp");
}

#[test]
fn a_password_in_the_base_url_reaches_the_child_but_not_the_dry_run() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    write(
        &env.home.join(".codex/config.toml"),
        r#"
model_provider = "corp"
[model_providers.corp]
base_url = "https://user:PW123@gw.corp.dev/v1"
"#,
    );
    let launch = read(&env, &[]).launch(PROXY, Path::new("/d")).unwrap();
    assert_eq!(
        defined(&launch)["http_headers"]["X-Headroom-Upstream"].as_str(),
        Some("https://user:PW123@gw.corp.dev/v1")
    );
    let (_, shown) = overrides(&launch).pop().unwrap();
    assert!(!shown.contains("PW123"), "{shown}");
    assert!(
        shown.contains(r#"X-Headroom-Upstream = "https://user:***@gw.corp.dev/v1""#),
        "{shown}"
    );
}

#[test]
fn a_profile_from_config_or_arguments_chooses_the_provider() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    write(
        &env.home.join(".codex/config.toml"),
        r#"
profile = "work"
[profiles.work]
model_provider = "a"
[profiles.play]
model_provider = "b"
[model_providers.a]
base_url = "https://a.dev/v1"
[model_providers.b]
base_url = "https://b.dev/v1"
"#,
    );
    let work = read(&env, &["exec", "hi"]);
    assert_eq!(
        (work.selected_id.as_str(), work.upstream.as_str()),
        ("a", "https://a.dev/v1")
    );
    let launch = work.launch(PROXY, Path::new("/d")).unwrap();
    assert_eq!(
        overrides(&launch)[1].0,
        r#"profiles.work.model_provider="headroom""#
    );
    let play = read(&env, &["--profile", "play", "exec", "hi"]);
    assert_eq!(play.upstream, "https://b.dev/v1");
    assert_eq!(read(&env, &["-p", "play"]).upstream, "https://b.dev/v1");
}

#[test]
fn local_built_ins_are_unroutable_and_unknown_or_broken_config_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    let config = env.home.join(".codex/config.toml");
    write(&config, "model_provider = \"ollama\"\n");
    assert!(read(&env, &[]).unroutable.unwrap().contains("ollama"));
    write(&config, "model_provider = \"nope\"\n");
    let err = CodexConfig::read(&env, &[]).unwrap_err().to_string();
    assert!(err.contains("model provider nope is not defined"), "{err}");
    write(&config, "model_provider = \n");
    let err = CodexConfig::read(&env, &[]).unwrap_err().to_string();
    assert!(err.contains("not valid TOML"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn a_provider_chosen_among_the_arguments_is_unroutable_naming_them() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    write(
        &env.home.join(".codex/config.toml"),
        "model_provider = \"a\"\n[model_providers.a]\nbase_url = \"https://a.dev/v1\"\n",
    );
    assert_eq!(read(&env, &["exec", "hi"]).unroutable, None);
    for (args, named) in [
        (
            &["exec", "-c", "model_provider=other", "hi"][..],
            "-c model_provider=other",
        ),
        (
            &["--config", " model_provider=\"b\""],
            "--config  model_provider=\"b\"",
        ),
        (&["--config=model_provider=b"], "--config=model_provider=b"),
        (&["exec", "--oss"], "--oss"),
    ] {
        let why = read(&env, args).unroutable.unwrap_or_default();
        assert!(
            why.starts_with(&format!("{named} among Codex's arguments")),
            "{args:?}: {why}"
        );
    }
    // Other settings, and words after `--`, choose nothing.
    assert_eq!(
        read(&env, &["-c", "model=gpt-5", "exec", "--", "--oss"]).unroutable,
        None
    );
}
