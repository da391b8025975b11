#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::ffi::OsString;

use super::*;
use crate::wrap::environment::testing::{env_in, write};

const PROXY: &str = "http://127.0.0.1:9";

fn setup_of(env: &Environment, args: &[&str]) -> QwenSetup {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    setup(env, &QwenSettings::read(env).unwrap(), &args)
}

fn overlay_of(launch: &Launch) -> (Value, Value) {
    let file = &launch.files[0];
    assert_eq!(file.name, OVERLAY);
    (
        serde_json::from_str(&file.contents.real).unwrap(),
        serde_json::from_str(&file.contents.shown).unwrap(),
    )
}

fn env_value<'a>(launch: &'a Launch, name: &str) -> Option<&'a str> {
    launch
        .env
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.real.as_str())
}

fn user_settings(env: &Environment, json: Value) {
    write(&env.home.join(".qwen/settings.json"), &json.to_string());
}

#[test]
fn an_openai_key_goes_to_the_public_api_with_the_header_in_a_system_overlay() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    let setup = setup_of(&env, &["--auth-type", "openai"]);
    assert_eq!(setup.unroutable, None);
    assert_eq!(
        setup.default_upstream().as_deref(),
        Some("https://api.openai.com/v1")
    );
    let launch = setup.launch(PROXY, Path::new("/run/d")).unwrap();
    assert_eq!(launch.routed[0].id, "openai");
    assert_eq!(launch.routed[0].upstream, "https://api.openai.com/v1");
    assert_eq!(
        env_value(&launch, "OPENAI_BASE_URL"),
        Some("http://127.0.0.1:9/v1")
    );
    assert_eq!(
        env_value(&launch, SYSTEM_SETTINGS_VAR),
        Some("/run/d/qwen-system-settings.json")
    );
    // The system defaults stay where the real system settings file put them.
    let defaults = env.system_config.join("qwen-code/system-defaults.json");
    assert_eq!(
        env_value(&launch, SYSTEM_DEFAULTS_VAR),
        Some(defaults.to_str().unwrap())
    );
    let (real, _) = overlay_of(&launch);
    assert_eq!(
        real,
        json!({"$version": 4, "model": {"generationConfig": {"customHeaders": {
            "X-Headroom-Upstream": "https://api.openai.com/v1"}}}})
    );
    assert!(launch.args.is_empty());
}

#[test]
fn the_base_url_comes_from_the_variable_a_dotenv_file_or_the_settings() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    user_settings(
        &env,
        json!({"security": {"auth": {"selectedType": "anthropic", "baseUrl": "https://settings.dev/"}}}),
    );
    let setup = setup_of(&env, &[]);
    assert_eq!(setup.upstream, "https://settings.dev");
    assert_eq!(setup.var, "ANTHROPIC_BASE_URL");
    write(
        &env.home.join(".env"),
        "ANTHROPIC_BASE_URL=https://home-dotenv.dev\n",
    );
    assert_eq!(setup_of(&env, &[]).upstream, "https://home-dotenv.dev");
    write(
        &env.cwd.join(".qwen/.env"),
        "ANTHROPIC_BASE_URL=https://project-dotenv.dev\n",
    );
    assert_eq!(setup_of(&env, &[]).upstream, "https://project-dotenv.dev");
    // The environment is never overridden by a .env file.
    env.vars
        .insert("ANTHROPIC_BASE_URL".into(), "https://env.dev/v1".into());
    let setup = setup_of(&env, &[]);
    assert_eq!(setup.upstream, "https://env.dev/v1");
    let launch = setup.launch(PROXY, Path::new("/run/d")).unwrap();
    assert_eq!(
        env_value(&launch, "ANTHROPIC_BASE_URL"),
        Some("http://127.0.0.1:9/v1")
    );
    // The argument's auth type beats the settings'.
    assert_eq!(
        setup_of(&env, &["--auth-type=openai"]).var,
        "OPENAI_BASE_URL"
    );
}

#[test]
fn the_users_system_settings_and_custom_headers_are_kept_and_masked() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    write(
        &env.system_config.join("qwen-code/settings.json"),
        r#"{
            // an admin's settings
            "$version": 4,
            "privacy": {"usageStatisticsEnabled": false},
            "model": {"generationConfig": {"timeout": 5}}
        }"#,
    );
    user_settings(
        &env,
        json!({"security": {"auth": {"selectedType": "openai"}},
               "model": {"generationConfig": {"customHeaders": {"X-Gateway-Key": "s3cret"}}}}),
    );
    let launch = setup_of(&env, &[])
        .launch(PROXY, Path::new("/run/d"))
        .unwrap();
    let (real, shown) = overlay_of(&launch);
    assert_eq!(
        real,
        json!({"$version": 4, "privacy": {"usageStatisticsEnabled": false},
               "model": {"generationConfig": {"timeout": 5, "customHeaders": {
                   "X-Gateway-Key": "s3cret",
                   "X-Headroom-Upstream": "https://api.openai.com/v1"}}}})
    );
    let headers = &shown["model"]["generationConfig"]["customHeaders"];
    assert_ne!(headers["X-Gateway-Key"], "s3cret");
    assert_eq!(headers["X-Headroom-Upstream"], "https://api.openai.com/v1");
}

#[test]
fn a_system_settings_path_of_the_users_is_merged_and_its_defaults_left_alone() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    let own = root.path().join("admin/settings.json");
    write(
        &own,
        r#"{"security": {"auth": {"selectedType": "openai"}}}"#,
    );
    env.vars
        .insert(SYSTEM_SETTINGS_VAR.into(), own.display().to_string());
    let launch = setup_of(&env, &[])
        .launch(PROXY, Path::new("/run/d"))
        .unwrap();
    let (real, _) = overlay_of(&launch);
    assert_eq!(real["security"]["auth"]["selectedType"], "openai");
    let defaults = root.path().join("admin/system-defaults.json");
    assert_eq!(
        env_value(&launch, SYSTEM_DEFAULTS_VAR),
        Some(defaults.to_str().unwrap())
    );
    env.vars
        .insert(SYSTEM_DEFAULTS_VAR.into(), "/x/d.json".into());
    let launch = setup_of(&env, &[])
        .launch(PROXY, Path::new("/run/d"))
        .unwrap();
    assert_eq!(env_value(&launch, SYSTEM_DEFAULTS_VAR), None);
}

#[test]
fn logins_and_settings_that_win_over_the_variable_are_unroutable() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    let why = |env: &Environment, args: &[&str]| setup_of(env, args).unroutable.unwrap_or_default();
    assert!(
        why(&env, &[]).contains("no auth type"),
        "{}",
        why(&env, &[])
    );
    assert!(why(&env, &["--auth-type", "qwen-oauth"]).contains("Qwen OAuth"));
    assert!(why(&env, &["--auth-type", "vertex-ai"]).contains("vertex-ai"));
    let arg = why(
        &env,
        &[
            "--auth-type",
            "openai",
            "--openai-base-url",
            "https://x.dev/v1",
        ],
    );
    assert!(arg.contains("--openai-base-url"), "{arg}");
    user_settings(
        &env,
        json!({"security": {"auth": {"selectedType": "openai"}},
               "model": {"generationConfig": {"customHeaders": {"x-headroom-upstream": "https://a.dev"}}}}),
    );
    assert!(why(&env, &[]).contains("already routed"));
    user_settings(
        &env,
        json!({"security": {"auth": {"selectedType": "openai"}}}),
    );
    env.vars.insert("OPENAI_BASE_URL".into(), "api.corp".into());
    let bad = why(&env, &[]);
    assert!(
        bad.starts_with("the base URL from OPENAI_BASE_URL is not a valid URL"),
        "{bad}"
    );
}

#[test]
fn the_auth_type_is_guessed_from_the_environment_as_qwen_code_does() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    for (name, value) in [
        ("OPENAI_API_KEY", "sk"),
        ("OPENAI_MODEL", "gpt-4o"),
        ("OPENAI_BASE_URL", "https://gw.dev/v1"),
    ] {
        env.vars.insert(name.into(), value.into());
    }
    let setup = setup_of(&env, &[]);
    assert_eq!(setup.auth_type, "openai");
    assert_eq!(setup.upstream, "https://gw.dev/v1");
    env.vars.remove("OPENAI_BASE_URL");
    assert!(setup_of(&env, &[]).unroutable.is_some());
}

#[test]
fn a_settings_file_that_is_not_json_is_an_error_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    write(&env.home.join(".qwen/settings.json"), "{\"a\": ");
    let error = QwenSettings::read(&env).unwrap_err().to_string();
    assert!(error.contains(".qwen/settings.json"), "{error}");
}

#[test]
fn a_model_provider_with_its_own_base_url_is_pointed_at_the_proxy() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    // The workspace's modelProviders replace the user's whole.
    user_settings(
        &env,
        json!({"modelProviders": {"anthropic": [{"id": "claude", "baseUrl": "https://old.dev"}]}}),
    );
    let providers = json!({"openai": [
        {"id": "gpt-4o"},
        {"id": "qwen3-coder", "baseUrl": "https://dash.dev/compatible-mode/v1",
         "envKey": "DASHSCOPE_API_KEY",
         "generationConfig": {"customHeaders": {"X-DashScope-Tag": "t"}}},
    ]});
    write(
        &env.cwd.join(".qwen/settings.json"),
        &json!({"security": {"auth": {"selectedType": "openai"}},
                "model": {"name": "qwen3-coder"}, "modelProviders": providers})
        .to_string(),
    );
    let setup = setup_of(&env, &[]);
    assert_eq!(setup.unroutable, None);
    assert_eq!(setup.upstream, "https://dash.dev/compatible-mode/v1");
    let launch = setup.launch(PROXY, Path::new("/run/d")).unwrap();
    assert_eq!(launch.routed[0].base_url, "http://127.0.0.1:9/v1");
    let (real, _) = overlay_of(&launch);
    let mut expected = providers.clone();
    expected["openai"][1]["baseUrl"] = json!("http://127.0.0.1:9/v1");
    expected["openai"][1]["generationConfig"]["customHeaders"]["X-Headroom-Upstream"] =
        json!("https://dash.dev/compatible-mode/v1");
    assert_eq!(real["modelProviders"], expected);
    // Qwen Code ignores (and warns about) top-level custom headers then.
    assert!(real.get("model").is_none(), "{real}");
    // Another model: the entry does not apply, and the providers are not copied.
    let other = setup_of(&env, &["--model", "gpt-4o"]);
    assert_eq!(other.upstream, "https://api.openai.com/v1");
    let launch = other.launch(PROXY, Path::new("/run/d")).unwrap();
    assert!(overlay_of(&launch).0.get("modelProviders").is_none());
}
