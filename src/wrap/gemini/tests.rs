#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::wrap::environment::testing::{env_in, write};

const PROXY: &str = "http://127.0.0.1:9";

fn launch(setup: &GeminiSetup) -> Launch {
    setup.launch(PROXY, Path::new("/run/d")).unwrap()
}

fn var<'a>(launch: &'a Launch, name: &str) -> Option<&'a Shown> {
    launch.env.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

fn with_key(root: &Path) -> Environment {
    let mut env = env_in(root);
    env.vars
        .insert("GEMINI_API_KEY".into(), "AIza-secret".into());
    env
}

#[test]
fn an_api_key_goes_to_the_public_api_with_an_overlay_selecting_it() {
    let root = tempfile::tempdir().unwrap();
    let env = with_key(root.path());
    let setup = setup(&env, true);
    assert_eq!(setup.unroutable, None);
    let launch = launch(&setup);
    assert_eq!(var(&launch, BASE_URL).unwrap().real, PROXY);
    assert_eq!(
        var(&launch, CUSTOM_HEADERS).unwrap().real,
        "X-Headroom-Upstream: https://generativelanguage.googleapis.com"
    );
    assert_eq!(
        var(&launch, SYSTEM_SETTINGS).unwrap().real,
        "/run/d/gemini-system-settings.json"
    );
    // The user's system defaults stay where they were.
    assert_eq!(
        var(&launch, SYSTEM_DEFAULTS).unwrap().real,
        env.system_config
            .join("gemini-cli/system-defaults.json")
            .display()
            .to_string()
    );
    let overlay: Value = serde_json::from_str(&launch.files[0].contents.real).unwrap();
    assert_eq!(
        overlay,
        json!({"security": {"auth": {"selectedType": "gemini-api-key"}}})
    );
    // The key stays in the environment, where the user put it.
    assert!(launch.env.iter().all(|(_, v)| !v.real.contains("AIza")));
    assert_eq!(setup.default_upstream().as_deref(), Some(DEFAULT_UPSTREAM));
}

#[test]
fn the_users_system_settings_are_merged_into_the_overlay() {
    let root = tempfile::tempdir().unwrap();
    let env = with_key(root.path());
    write(
        &env.system_config.join("gemini-cli/settings.json"),
        r#"{"general": {"vimMode": true}, // admin's
            "security": {"auth": {"useExternal": false}}}"#,
    );
    let launch = launch(&setup(&env, true));
    let overlay: Value = serde_json::from_str(&launch.files[0].contents.real).unwrap();
    assert_eq!(
        overlay,
        json!({"general": {"vimMode": true},
               "security": {"auth": {"useExternal": false, "selectedType": "gemini-api-key"}}})
    );
}

#[test]
fn settings_that_select_the_api_key_need_no_overlay() {
    let root = tempfile::tempdir().unwrap();
    let env = with_key(root.path());
    write(
        &env.home.join(".gemini/settings.json"),
        r#"{"security": {"auth": {"selectedType": "gemini-api-key"}}}"#,
    );
    // No system settings file would be read, and none is needed.
    let setup = setup(&env, false);
    assert_eq!(setup.unroutable, None);
    let launch = launch(&setup);
    assert!(launch.files.is_empty());
    assert!(var(&launch, SYSTEM_SETTINGS).is_none());
}

#[test]
fn where_an_overlay_would_be_refused_it_says_what_to_do() {
    let root = tempfile::tempdir().unwrap();
    let env = with_key(root.path());
    let why = setup(&env, false).unroutable.unwrap();
    assert!(why.contains("selectedType"), "{why}");
    assert!(why.contains(".gemini/settings.json"), "{why}");
}

#[test]
fn the_users_base_url_from_env_or_dotenv_is_the_upstream() {
    let root = tempfile::tempdir().unwrap();
    let mut env = with_key(root.path());
    write(
        &env.home.join(".gemini/.env"),
        "# mine\nGOOGLE_GEMINI_BASE_URL=https://old.corp\nexport GOOGLE_GEMINI_BASE_URL=\"https://gw.corp/gemini/\"\n",
    );
    // Gemini CLI reads `~/.gemini/.env` only in a trusted workspace.
    assert_eq!(setup(&env, true).upstream, DEFAULT_UPSTREAM);
    write(
        &env.home.join(".gemini/trustedFolders.json"),
        &json!({env.cwd.display().to_string(): "TRUST_FOLDER"}).to_string(),
    );
    let setup_ = setup(&env, true);
    assert_eq!(setup_.upstream, "https://gw.corp/gemini");
    env.vars
        .insert(BASE_URL.into(), "https://env.corp/v1beta".into());
    let setup_ = setup(&env, true);
    assert_eq!(setup_.upstream, "https://env.corp/v1beta");
    // The version segment stays on the proxy's side of the swap.
    assert_eq!(
        var(&launch(&setup_), BASE_URL).unwrap().real,
        format!("{PROXY}/v1beta")
    );
}

#[test]
fn the_users_custom_headers_are_kept_and_masked() {
    let root = tempfile::tempdir().unwrap();
    let mut env = with_key(root.path());
    env.vars
        .insert(CUSTOM_HEADERS.into(), "X-Gw-Key: s3cret, X-Team: a".into());
    let launch = launch(&setup(&env, true));
    let headers = var(&launch, CUSTOM_HEADERS).unwrap();
    assert_eq!(
        headers.real,
        "X-Headroom-Upstream: https://generativelanguage.googleapis.com, X-Gw-Key: s3cret, X-Team: a"
    );
    assert!(!headers.shown.contains("s3cret"), "{}", headers.shown);
}

#[test]
fn a_password_in_the_base_url_reaches_the_child_but_not_the_dry_run() {
    let root = tempfile::tempdir().unwrap();
    let mut env = with_key(root.path());
    env.vars
        .insert(BASE_URL.into(), "https://u:PW123@gw.example/v1beta".into());
    let launch = launch(&setup(&env, true));
    let headers = var(&launch, CUSTOM_HEADERS).unwrap();
    assert_eq!(
        headers.real,
        "X-Headroom-Upstream: https://u:PW123@gw.example/v1beta"
    );
    assert_eq!(
        headers.shown,
        "X-Headroom-Upstream: https://u:***@gw.example/v1beta"
    );
}

#[test]
fn google_login_vertex_enforced_types_and_nesting_are_unroutable() {
    let root = tempfile::tempdir().unwrap();
    let mut env = with_key(root.path());
    let settings = env.home.join(".gemini/settings.json");
    write(
        &settings,
        r#"{"security": {"auth": {"selectedType": "oauth-personal"}}}"#,
    );
    let why = setup(&env, true).unroutable.unwrap();
    assert!(why.contains("Login with Google"), "{why}");
    assert!(why.contains("GEMINI_API_KEY"), "{why}");
    std::fs::remove_file(&settings).unwrap();
    env.vars
        .insert("GOOGLE_GENAI_USE_VERTEXAI".into(), "true".into());
    assert!(setup(&env, true).unroutable.unwrap().contains("Vertex"));
    env.vars.remove("GOOGLE_GENAI_USE_VERTEXAI");
    write(
        &env.system_config.join("gemini-cli/system-defaults.json"),
        r#"{"security": {"auth": {"enforcedType": "oauth-personal"}}}"#,
    );
    assert!(setup(&env, true).unroutable.unwrap().contains("enforce"));
    std::fs::remove_file(env.system_config.join("gemini-cli/system-defaults.json")).unwrap();
    env.vars.insert(
        CUSTOM_HEADERS.into(),
        "x-headroom-upstream: https://a.dev".into(),
    );
    assert!(setup(&env, true)
        .unroutable
        .unwrap()
        .contains("already routed"));
    env.vars.remove(CUSTOM_HEADERS);
    assert_eq!(setup(&env, true).unroutable, None);
}

#[test]
fn a_private_dir_under_a_world_writable_dir_takes_no_system_file() {
    let root = tempfile::tempdir().unwrap();
    assert!(!takes_system_files_in(&root.path().join("headroom/wrap-1")));
    // So a run there says what to do instead of failing inside gemini.
    let env = with_key(root.path());
    let dir = private_dir::base(&env);
    assert!(setup(&env, takes_system_files_in(&dir))
        .unroutable
        .is_some());
}

#[test]
fn an_untrusted_workspace_s_settings_do_not_count() {
    let root = tempfile::tempdir().unwrap();
    let mut env = with_key(root.path());
    write(
        &env.cwd.join(".gemini/settings.json"),
        r#"{"security": {"auth": {"selectedType": "oauth-personal"}}}"#,
    );
    assert_eq!(setup(&env, true).unroutable, None);
    env.vars
        .insert("GEMINI_CLI_TRUST_WORKSPACE".into(), "true".into());
    assert!(setup(&env, true).unroutable.is_some());
}
