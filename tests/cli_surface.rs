//! The command-line surface: generated completions and man pages in sync
//! with the CLI definition, the bash completion working in bash, man pages
//! rendering cleanly, `--help` snapshots, and the exit-code classes.
//!
//! Refresh every checked-in file after a deliberate change with:
//!   HEADROOM_UPDATE_SNAPSHOTS=1 cargo test --test cli_surface
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::BIN;
use headroom::generate;

const REFRESH: &str = "HEADROOM_UPDATE_SNAPSHOTS=1 cargo test --test cli_surface";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn updating() -> bool {
    std::env::var_os("HEADROOM_UPDATE_SNAPSHOTS").is_some()
}

/// Compares `fresh` with the checked-in file, or rewrites it when updating.
fn check_in_sync(path: &Path, fresh: &[u8]) -> Option<String> {
    if updating() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, fresh).unwrap();
        return None;
    }
    match std::fs::read(path) {
        Ok(current) if current == fresh => None,
        Ok(_) => Some(format!("{} is stale", path.display())),
        Err(_) => Some(format!("{} is missing", path.display())),
    }
}

fn assert_all_in_sync(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{}\nRefresh the generated files with: {REFRESH}",
        problems.join("\n")
    );
}

#[test]
fn completions_are_in_sync_with_the_cli() {
    let problems = generate::COMPLETION_FILES
        .iter()
        .filter_map(|(shell, file)| {
            check_in_sync(
                &repo("completions").join(file),
                &generate::completion(*shell),
            )
        })
        .collect();
    assert_all_in_sync(problems);
}

#[test]
fn man_pages_are_in_sync_with_the_cli() {
    let pages = generate::man_pages().unwrap();
    let names: Vec<&str> = pages.iter().map(|(name, _)| name.as_str()).collect();
    for expected in [
        "headroom.1",
        "headroom-proxy.1",
        "headroom-wrap.1",
        "headroom-wrap-opencode.1",
        "headroom-usage.1",
        "headroom-completions.1",
        "headroom-man.1",
    ] {
        assert!(names.contains(&expected), "no {expected} in {names:?}");
    }
    let problems = pages
        .iter()
        .filter_map(|(name, page)| check_in_sync(&repo("man").join(name), page))
        .collect();
    assert_all_in_sync(problems);
}

#[test]
fn headroom_man_writes_the_pages() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .arg("man")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let page = std::fs::read(dir.path().join("headroom-wrap-opencode.1")).unwrap();
    assert_eq!(
        page,
        std::fs::read(repo("man/headroom-wrap-opencode.1")).unwrap()
    );
}

/// What bash offers for the words typed so far (the last one is completed).
fn bash_complete(words: &[&str]) -> Vec<String> {
    let script = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n_headroom headroom \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        repo("completions/headroom.bash").display(),
        words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
        words.len() - 1,
        words.join(" "),
    );
    let output = Command::new("bash").arg("-c").arg(script).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completion_offers_the_right_words() {
    assert_eq!(bash_complete(&["headroom", "w"]), ["wrap"]);
    let after_wrap = bash_complete(&["headroom", "wrap", ""]);
    assert!(
        after_wrap.contains(&"opencode".to_string()),
        "{after_wrap:?}"
    );
    let proxy_flags = bash_complete(&["headroom", "proxy", "--allow-"]);
    assert_eq!(proxy_flags, ["--allow-upstream", "--allow-any-upstream"]);
}

#[test]
fn bash_completion_offers_values_not_file_names() {
    let levels = ["error", "warn", "info", "debug", "trace", "off"];
    assert_eq!(
        bash_complete(&["headroom", "proxy", "--log-level", ""]),
        levels
    );
    assert_eq!(
        bash_complete(&["headroom", "wrap", "opencode", "--log-level", ""]),
        levels
    );
    assert_eq!(
        bash_complete(&["headroom", "proxy", "--log-format", ""]),
        ["text", "json"]
    );
    let shells = bash_complete(&["headroom", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(shells.contains(&shell.to_string()), "{shells:?}");
    }
    // The tests run in the repository, where a file-name completion would
    // offer Cargo.toml and friends.
    for words in [
        &["headroom", "proxy", "--port", ""][..],
        &["headroom", "wrap", "opencode", "--port", ""],
        &["headroom", "proxy", "--connect-timeout", ""],
    ] {
        let offered = bash_complete(words);
        assert!(
            offered.iter().all(|word| word.is_empty()),
            "{words:?} offers {offered:?}"
        );
    }
}

#[test]
fn man_pages_point_only_to_pages_that_exist_and_name_their_sections() {
    let pages = generate::man_pages().unwrap();
    for (name, page) in &pages {
        let page = String::from_utf8_lossy(page);
        assert!(!page.contains("help(1)"), "{name} points to a help page");
        assert!(!page.contains(".SH EXTRA"), "{name} has an EXTRA section");
        assert!(page.contains(".SH EXAMPLES"), "{name} has no EXAMPLES");
    }
    let page = |name: &str| {
        let (_, page) = pages.iter().find(|(n, _)| n == name).unwrap();
        String::from_utf8_lossy(page).into_owned()
    };
    assert!(page("headroom.1").contains(".SH \"EXIT STATUS\""));
    assert!(page("headroom-proxy.1").contains(".SH ENVIRONMENT"));
    assert!(page("headroom-wrap-opencode.1").contains(".SH ENVIRONMENT"));
}

#[test]
fn man_pages_render_without_warnings() {
    if Command::new("man").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "man is not installed (apt-get install man-db groff)"
        );
        eprintln!("skipped: man is not installed");
        return;
    }
    for entry in std::fs::read_dir(repo("man")).unwrap() {
        let page = entry.unwrap().path();
        let output = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&page)
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", page.display());
        let warnings = String::from_utf8_lossy(&output.stderr);
        assert!(warnings.trim().is_empty(), "{}: {warnings}", page.display());
        assert!(!output.stdout.is_empty());
    }
}

fn headroom(args: &[&str]) -> Output {
    // Whatever a command writes of its state (a ledger, a spill directory)
    // goes here, not into the home of whoever runs the tests.
    let state = tempfile::tempdir().unwrap();
    Command::new(BIN)
        .args(args)
        .env("XDG_STATE_HOME", state.path())
        .env_remove("HEADROOM_OPENCODE_BIN")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .unwrap()
}

#[test]
fn help_snapshots() {
    let commands: [&[&str]; 8] = [
        &["--help"],
        &["proxy", "--help"],
        &["wrap", "--help"],
        &["usage", "--help"],
        &["wrap", "opencode", "--help"],
        &["completions", "--help"],
        &["man", "--help"],
        &["-h"],
    ];
    let mut problems = Vec::new();
    for args in commands {
        let output = headroom(args);
        assert!(output.status.success(), "{args:?}");
        let name = args.join("_").replace('-', "");
        let snapshot = repo("tests/snapshots").join(format!("{name}.txt"));
        problems.extend(check_in_sync(&snapshot, &output.stdout));
    }
    assert_all_in_sync(problems);
    let proxy_help = String::from_utf8_lossy(&headroom(&["proxy", "--help"]).stdout).into_owned();
    for needed in [
        "X-Headroom-Upstream",
        "/v1beta",
        "OPENAI_TARGET_API_URL",
        "Example",
        // Every path the proxy answers itself (proxy::forward::local).
        "GET /health",
        "GET /stats",
        "GET /metrics",
    ] {
        assert!(proxy_help.contains(needed), "proxy --help lacks {needed}");
    }
}

#[test]
fn wrap_help_gives_one_default_for_the_port() {
    let help =
        String::from_utf8_lossy(&headroom(&["wrap", "opencode", "--help"]).stdout).into_owned();
    assert!(help.contains("[default: a free one]"), "{help}");
    assert!(!help.contains("[default: 0]"), "{help}");
}

#[test]
fn version_prints_the_version() {
    let output = headroom(&["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("headroom {}", env!("CARGO_PKG_VERSION"))
    );
}

fn assert_one_line_error(output: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(stderr.starts_with("headroom: error: "), "{stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.contains(needle), "{stderr} lacks {needle}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn config_errors_exit_2_with_one_line() {
    let output = headroom(&["proxy", "--openai-upstream", "ftp://x"]);
    assert_one_line_error(&output, 2, "--openai-upstream must use the http");
    let endpoint = headroom(&[
        "proxy",
        "--anthropic-upstream",
        "https://api.anthropic.com/v1/messages",
    ]);
    assert_one_line_error(&endpoint, 2, "--anthropic-upstream is a full endpoint URL");
    let missing_subcommand = headroom(&[]);
    assert_eq!(missing_subcommand.status.code(), Some(2));
}

/// clap's whole message, ending with the `--help` of the subcommand.
fn assert_usage_error(args: &[&str], needles: &[&str], help_of: &str) {
    let output = headroom(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.starts_with("headroom: error: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{args:?}: {stderr} lacks {needle}");
    }
    let pointer = format!("For more information, try '{help_of} --help'.");
    assert!(
        stderr.trim_end().ends_with(&pointer),
        "{args:?}: {stderr} does not end with {pointer}"
    );
}

#[test]
fn usage_errors_keep_clap_s_whole_message() {
    assert_usage_error(&["completions"], &["<SHELL>"], "headroom completions");
    assert_usage_error(
        &["proxy", "--log-format", "xml"],
        &["'xml'", "[possible values: text, json]"],
        "headroom proxy",
    );
    assert_usage_error(
        &["proxy", "--log-level", "loud"],
        &["'loud'", "error, warn, info, debug, trace"],
        "headroom proxy",
    );
    assert_usage_error(
        &["proxy", "--prot", "8080"],
        &["'--prot'", "a similar argument exists: '--port'"],
        "headroom proxy",
    );
    assert_usage_error(
        &["proxy", "--connect-timeout", "soon"],
        &["'soon' is not a duration"],
        "headroom proxy",
    );
    assert_usage_error(&["proxy", "--port", "http"], &["--port"], "headroom proxy");
    assert_usage_error(
        &["wrap", "opencode", "run", "hi"],
        &["'run'", "use '-- run'", "Usage: headroom wrap opencode"],
        "headroom wrap opencode",
    );
    assert_usage_error(
        &["wrap", "opencode", "-s", "ses_1"],
        &["use '-- -s'"],
        "headroom wrap opencode",
    );
    assert_usage_error(&["wrap", "vim"], &["'vim'"], "headroom wrap");
    assert_usage_error(&["frobnicate"], &["'frobnicate'"], "headroom");
}

#[test]
fn runtime_failures_exit_1_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = headroom(&["proxy", "--no-ledger", "--port", &port]);
    assert_one_line_error(&output, 1, "could not listen");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--port 0"), "no way out named: {stderr}");
}

#[test]
fn a_missing_agent_exits_127_naming_the_three_ways() {
    let sandbox = common::opencode::Sandbox::new();
    let mut command = sandbox.headroom(&["wrap", "opencode", "--", "run", "hi"]);
    command.env("PATH", "/nonexistent");
    let output = command.output().unwrap();
    assert_one_line_error(&output, 127, "--opencode-bin");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("HEADROOM_OPENCODE_BIN") && stderr.contains("PATH"),
        "{stderr}"
    );

    let output = sandbox.run_headroom(&["wrap", "opencode", "--opencode-bin", "/no/such/opencode"]);
    assert_one_line_error(&output, 127, "/no/such/opencode does not exist");

    let not_executable = sandbox.root.path().join("opencode.txt");
    std::fs::write(&not_executable, "not a program").unwrap();
    let bin = not_executable.to_str().unwrap();
    let output = sandbox.run_headroom(&["wrap", "opencode", "--opencode-bin", bin]);
    assert_one_line_error(&output, 127, "is not an executable file");
}

#[test]
fn an_empty_bin_variable_counts_as_unset_for_every_agent() {
    let sandbox = common::opencode::Sandbox::new();
    let listing = sandbox.run_headroom(&["wrap", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
    let bin_dir = sandbox.root.path().join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let rows = rows.as_array().unwrap();
    assert!(rows.len() > 1, "{rows:?}");
    for row in rows {
        let agent = row["agent"].as_str().unwrap();
        let stand_in = bin_dir.join(agent);
        std::fs::write(&stand_in, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).unwrap();
        let output = sandbox
            .headroom(&["wrap", agent, "--dry-run", "--json"])
            .env(format!("HEADROOM_{}_BIN", agent.to_uppercase()), "")
            .env("PATH", &bin_dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{agent}: {stderr}");
        let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(plan["command"][0], stand_in.to_str().unwrap(), "{agent}");
    }

    let output = sandbox
        .headroom(&["wrap", "claude"])
        .env("HEADROOM_CLAUDE_BIN", "")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_one_line_error(&output, 127, "headroom: error: claude not found on PATH");
}

#[test]
fn a_bad_value_from_the_environment_names_the_variable() {
    let state = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command
        .args(["proxy", "--port", "0"])
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", state.path());
    let from_var = command
        .env("OPENAI_TARGET_API_URL", "ftp://x")
        .output()
        .unwrap();
    assert_one_line_error(&from_var, 2, "OPENAI_TARGET_API_URL must use the http");
    let stderr = String::from_utf8_lossy(&from_var.stderr);
    assert!(!stderr.contains("--openai-upstream"), "{stderr}");

    let from_rust_log = Command::new(BIN)
        .args(["proxy", "--port", "0"])
        .env("RUST_LOG", "loud")
        .output()
        .unwrap();
    assert_one_line_error(
        &from_rust_log,
        2,
        "RUST_LOG has an unknown log level 'loud'",
    );

    let sandbox = common::opencode::Sandbox::new();
    let output = sandbox
        .headroom(&["wrap", "opencode", "--", "run", "hi"])
        .env("HEADROOM_OPENCODE_BIN", "/no/such/opencode")
        .output()
        .unwrap();
    assert_one_line_error(
        &output,
        127,
        "headroom: error: HEADROOM_OPENCODE_BIN: opencode at /no/such/opencode does not exist",
    );
}
