#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::wrap::opencode::environment::testing::{env_in, staircase, write};
use crate::wrap::opencode::names::OPENCODE;

const CONTENT_VAR: &str = "OPENCODE_CONFIG_CONTENT";
use serde_json::json;

fn merged(env: &Environment) -> Value {
    Value::Object(load(env, &OPENCODE).unwrap().merged)
}

#[test]
fn layers_apply_in_opencodes_order() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    let names = [
        "global",
        "config",
        "project",
        "dot",
        "home-dot",
        "config-dir",
        "content",
        "managed",
    ];
    let layer = |i| staircase(&names, i);
    write(&env.home.join(".config/opencode/opencode.json"), &layer(0));
    let explicit = root.path().join("explicit.jsonc");
    write(&explicit, &layer(1));
    write(&env.cwd.join("opencode.json"), &layer(2));
    write(&env.cwd.join(".opencode/opencode.json"), &layer(3));
    write(&env.home.join(".opencode/opencode.jsonc"), &layer(4));
    let config_dir = root.path().join("cfgdir");
    write(&config_dir.join("opencode.json"), &layer(5));
    write(
        &env.system_config.join("opencode").join("opencode.json"),
        &layer(7),
    );
    env.vars
        .insert("OPENCODE_CONFIG".into(), explicit.display().to_string());
    env.vars.insert(
        "OPENCODE_CONFIG_DIR".into(),
        config_dir.display().to_string(),
    );
    env.vars.insert(CONTENT_VAR.into(), layer(6));

    let got = merged(&env);
    for (j, name) in names.iter().enumerate() {
        assert_eq!(got[format!("k{j}")], json!(name), "{got}");
    }
    assert_eq!(load(&env, &OPENCODE).unwrap().sources().len(), names.len());
}

#[test]
fn global_dir_order_and_xdg_config_home() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    let dir = root.path().join("xdg/opencode");
    let names = ["config.json", "opencode.json", "opencode.jsonc"];
    for (i, name) in names.iter().enumerate() {
        write(&dir.join(name), &staircase(&names, i));
    }
    write(
        &env.home.join(".config/opencode/opencode.jsonc"),
        r#"{"ignored": 1}"#,
    );
    env.vars.insert(
        "XDG_CONFIG_HOME".into(),
        root.path().join("xdg").display().to_string(),
    );
    let got = merged(&env);
    assert_eq!(
        got,
        json!({"k0": "config.json", "k1": "opencode.json", "k2": "opencode.jsonc"})
    );
}

#[test]
fn project_walk_stops_at_the_git_root_and_nearest_wins() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    let repo = root.path().join("outside/repo");
    env.cwd = repo.join("a/b");
    std::fs::create_dir_all(&env.cwd).unwrap();
    write(&repo.join(".git"), "gitdir: elsewhere");
    write(
        &root.path().join("outside/opencode.json"),
        r#"{"outside": 1}"#,
    );
    write(
        &repo.join("opencode.json"),
        r#"{"model": "root", "root": 1}"#,
    );
    write(
        &repo.join("a/opencode.json"),
        r#"{"model": "a-json", "a": 1}"#,
    );
    write(&repo.join("a/opencode.jsonc"), r#"{"model": "a-jsonc"}"#);
    write(&repo.join(".opencode/opencode.json"), r#"{"dot": "root"}"#);
    write(
        &repo.join("a/b/.opencode/opencode.json"),
        r#"{"dot": "near"}"#,
    );
    write(
        &root.path().join("outside/.opencode/opencode.json"),
        r#"{"dot": "outside"}"#,
    );

    // opencode loads the nearest `.opencode` first, so the farthest wins.
    let got = merged(&env);
    assert_eq!(
        got,
        json!({"model": "a-jsonc", "root": 1, "a": 1, "dot": "root"})
    );
}

#[test]
fn without_git_the_walk_reaches_the_filesystem_root() {
    let root = tempfile::tempdir().unwrap();
    let cwd = root.path().join("a/b");
    std::fs::create_dir_all(&cwd).unwrap();
    let dirs = project_dirs(&cwd);
    assert_eq!(dirs.first().map(PathBuf::as_path), Some(Path::new("/")));
    assert_eq!(dirs.last(), Some(&cwd));
    assert_eq!(dirs.len(), cwd.ancestors().count());
}

#[test]
fn disable_project_config_skips_project_files() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    write(&env.cwd.join(".git/HEAD"), "");
    write(&env.cwd.join("opencode.json"), r#"{"project": 1}"#);
    write(&env.cwd.join(".opencode/opencode.json"), r#"{"dot": 1}"#);
    write(&env.home.join(".opencode/opencode.json"), r#"{"home": 1}"#);
    env.vars
        .insert("OPENCODE_DISABLE_PROJECT_CONFIG".into(), "1".into());
    assert_eq!(merged(&env), json!({"home": 1}));
    env.vars
        .insert("OPENCODE_DISABLE_PROJECT_CONFIG".into(), "0".into());
    assert_eq!(merged(&env), json!({"project": 1, "dot": 1, "home": 1}));
}

#[test]
fn jsonc_and_substitution_in_files_and_content() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    write(&env.cwd.join(".git/HEAD"), "");
    write(&env.cwd.join("keys/k.txt"), "from-file\n");
    write(
        &env.cwd.join("opencode.jsonc"),
        "{\n  // key\n  \"a\": \"{file:keys/k.txt}\", /* env */ \"b\": \"{env:B}\",\n}\n",
    );
    env.vars.insert("B".into(), "from-env".into());
    env.vars
        .insert(CONTENT_VAR.into(), r#"{"c": "{file:keys/k.txt}",}"#.into());
    assert_eq!(
        merged(&env),
        json!({"a": "from-file", "b": "from-env", "c": "from-file"})
    );
}

#[test]
fn errors_name_the_file_and_position() {
    let root = tempfile::tempdir().unwrap();
    let mut env = env_in(root.path());
    write(&env.cwd.join(".git/HEAD"), "");
    let file = env.cwd.join("opencode.json");
    write(&file, "{\n  \"a\": 1,\n  \"b\": ]\n}");
    let err = load(&env, &OPENCODE).unwrap_err();
    assert_eq!((err.path.as_str(), err.line), (file.to_str().unwrap(), 3));
    assert!(
        err.to_string()
            .starts_with(&format!("{}:3:", file.display())),
        "{err}"
    );

    write(&file, r#"{"a": "{file:gone.txt}"}"#);
    let err = load(&env, &OPENCODE).unwrap_err();
    assert!(
        err.message
            .contains(&env.cwd.join("gone.txt").display().to_string()),
        "{err}"
    );

    std::fs::remove_file(&file).unwrap();
    env.vars.insert(CONTENT_VAR.into(), "[]".into());
    let err = load(&env, &OPENCODE).unwrap_err();
    assert!(
        err.to_string().starts_with("OPENCODE_CONFIG_CONTENT:1:1: "),
        "{err}"
    );
}

#[test]
fn unreadable_file_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    std::fs::create_dir_all(env.home.join(".config/opencode/opencode.json")).unwrap();
    let err = load(&env, &OPENCODE).unwrap_err();
    assert!(err.path.ends_with("opencode.json"));
    assert!(err.message.starts_with("cannot read"), "{err}");
}

#[test]
fn managed_configs_lists_existing_files() {
    let root = tempfile::tempdir().unwrap();
    let env = env_in(root.path());
    assert!(managed_configs(&env, &OPENCODE).is_empty());
    write(
        &env.system_config.join("opencode").join("opencode.jsonc"),
        "{}",
    );
    assert_eq!(
        managed_configs(&env, &OPENCODE),
        [env.system_config.join("opencode").join("opencode.jsonc")]
    );
}
