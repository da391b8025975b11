//! `headroom wrap opencode` against hostile opencode configs: unreadable,
//! invalid, pointing at missing files, with base URLs that are not URLs,
//! deeply nested, and 10 MB large. Each either stops with one clear line
//! and exit code 2 before anything is launched, or launches with every
//! routable provider rewritten and the others left alone with a reason.
//! A fake opencode (a shell script) records what it was started with.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::opencode::Sandbox;
use serde_json::{json, Value};

/// No run may take longer than this, even with a 10 MB config.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// What the fake opencode writes when it runs.
const RECORD: &str = "opencode-ran.json";

/// A sandbox whose opencode is a script that records its config overlay
/// and arguments, then exits 0.
fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    let bin = sandbox.root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("opencode");
    let record = sandbox.root.path().join(RECORD);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' \"$OPENCODE_CONFIG_CONTENT\" > '{}.tmp'\nprintf '%s\\n' \"$@\" > '{}.args'\nmv '{}.tmp' '{}'\nexit 0\n",
            record.display(),
            record.display(),
            record.display(),
            record.display()
        ),
    )
    .unwrap();
    set_mode(&script, 0o755);
    sandbox
        .env
        .insert("HEADROOM_OPENCODE_BIN".into(), script.display().to_string());
    sandbox
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The overlay the fake opencode was launched with, if it was launched.
fn launched_with(sandbox: &Sandbox) -> Option<Value> {
    let text = std::fs::read_to_string(sandbox.root.path().join(RECORD)).ok()?;
    Some(serde_json::from_str(&text).expect("the overlay is JSON"))
}

/// Runs headroom, killing it if it outlives `RUN_LIMIT`.
fn run(sandbox: &Sandbox, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let child = sandbox
        .headroom(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn headroom");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(RUN_LIMIT) {
        Ok(output) => (output.expect("headroom output"), started.elapsed()),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("headroom {args:?} ran for more than {RUN_LIMIT:?}");
        }
    }
}

const LAUNCH: [&str; 5] = ["wrap", "opencode", "--", "run", "hi"];
const DRY_RUN: [&str; 4] = ["wrap", "opencode", "--dry-run", "--json"];

/// Expects exit 2 with one `headroom: error:` line that mentions `names`,
/// nothing launched, and `file` (if any) unchanged.
fn assert_refused(what: &str, sandbox: &Sandbox, names: &str, file: Option<&Path>) {
    let before = file.and_then(|f| std::fs::read(f).ok());
    for args in [&LAUNCH[..], &DRY_RUN[..]] {
        let (output, took) = run(sandbox, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!(
            "config [{what}] {}: exit {:?} in {:.0} ms: {}",
            if args.len() == LAUNCH.len() {
                "launch"
            } else {
                "dry-run"
            },
            output.status.code(),
            took.as_secs_f64() * 1000.0,
            stderr.trim_end()
        );
        assert_eq!(output.status.code(), Some(2), "{what}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{what}: not one line:\n{stderr}");
        assert!(stderr.starts_with("headroom: error: "), "{what}: {stderr}");
        assert!(
            stderr.contains(names),
            "{what}: {names} not named: {stderr}"
        );
        assert!(stderr.len() < 1024, "{what}: a {} byte error", stderr.len());
        assert!(
            !stderr.contains("panicked") && !stderr.contains("internal error"),
            "{what}: {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "{what}: printed {:?}",
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(
            launched_with(sandbox).is_none(),
            "{what}: opencode was launched"
        );
    }
    if let Some(file) = file {
        assert_eq!(
            std::fs::read(file).ok(),
            before,
            "{what}: the config changed"
        );
    }
}

fn project_file(sandbox: &Sandbox) -> PathBuf {
    sandbox.project().join("opencode.json")
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn running_as_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|uids| uids.split_whitespace().nth(1))
        == Some("0")
}

#[test]
fn an_unreadable_config_stops_before_launch() {
    // A directory where the file should be cannot be read by anyone.
    let s = sandbox();
    std::fs::create_dir_all(project_file(&s)).unwrap();
    assert_refused(
        "directory as config",
        &s,
        "opencode.json:1:1: cannot read",
        None,
    );

    // Nor can a symlink that points at itself.
    let s = sandbox();
    std::os::unix::fs::symlink("opencode.json", project_file(&s)).unwrap();
    assert_refused(
        "symlink loop as config",
        &s,
        "opencode.json:1:1: cannot read",
        None,
    );

    // chmod 000 blocks reads, except for root.
    if running_as_root() {
        eprintln!(
            "config [chmod 000]: skipped: running as root, where chmod 000 does not block reads"
        );
        return;
    }
    let s = sandbox();
    let file = project_file(&s);
    write(&file, br#"{"provider": {}}"#);
    set_mode(&file, 0o000);
    assert_refused(
        "chmod 000 config",
        &s,
        "opencode.json:1:1: cannot read",
        None,
    );
    set_mode(&file, 0o644);
}

#[test]
fn invalid_jsonc_stops_before_launch_naming_the_place() {
    let cases: [(&str, &[u8], &str); 6] = [
        (
            "syntax error",
            b"{\n  \"provider\": {\n    \"x\": \n  }\n}\n",
            "opencode.json:4:",
        ),
        ("top-level array", b"[1, 2]", "opencode.json:1:1: "),
        ("single quotes", b"{'provider': {}}", "opencode.json:1:"),
        (
            "unterminated comment",
            b"{\"a\": 1 /* never closed",
            "opencode.json:1:",
        ),
        (
            "invalid UTF-8 outside a string",
            b"{\"a\": \xff\xfe}",
            "opencode.json:1:",
        ),
        ("a NUL byte", b"{\"a\": 1,\0 \"b\": 2}", "opencode.json:1:"),
    ];
    for (what, text, place) in cases {
        let s = sandbox();
        let file = project_file(&s);
        write(&file, text);
        assert_refused(what, &s, place, Some(&file));
    }
}

#[test]
fn invalid_config_in_any_layer_stops_before_launch() {
    let bad = b"{\"provider\": }";
    let s = sandbox();
    let global = s.root.path().join("home/.config/opencode/opencode.json");
    write(&global, bad);
    assert_refused(
        "global config",
        &s,
        "home/.config/opencode/opencode.json:1:",
        Some(&global),
    );

    let mut s = sandbox();
    let custom = s.root.path().join("custom.jsonc");
    write(&custom, bad);
    s.env
        .insert("OPENCODE_CONFIG".into(), custom.display().to_string());
    assert_refused("OPENCODE_CONFIG file", &s, "custom.jsonc:1:", Some(&custom));

    let mut s = sandbox();
    s.env
        .insert("OPENCODE_CONFIG_CONTENT".into(), "{\"provider\": }".into());
    assert_refused(
        "OPENCODE_CONFIG_CONTENT",
        &s,
        "OPENCODE_CONFIG_CONTENT:1:",
        None,
    );

    let s = sandbox();
    let dot = s.project().join(".opencode/opencode.jsonc");
    write(&dot, bad);
    assert_refused(
        ".opencode dir",
        &s,
        ".opencode/opencode.jsonc:1:",
        Some(&dot),
    );
}

#[test]
fn a_file_reference_to_nothing_stops_before_launch() {
    let cases = [
        (
            "missing file",
            "{file:./secrets/nope.txt}",
            "does not exist",
        ),
        ("a directory", "{file:./}", "cannot read"),
        ("a missing home file", "{file:~/nope.txt}", "does not exist"),
    ];
    for (what, reference, why) in cases {
        let s = sandbox();
        let file = project_file(&s);
        let config = format!(
            "{{\n  \"provider\": {{\n    \"p\": {{\"options\": {{\"apiKey\": \"{reference}\"}}}}\n  }}\n}}\n"
        );
        write(&file, config);
        assert_refused(what, &s, why, Some(&file));
        let (output, _) = run(&s, &LAUNCH);
        assert!(String::from_utf8_lossy(&output.stderr).contains("opencode.json:3:"));
    }
}

#[test]
fn deep_nesting_is_refused_without_a_crash() {
    let s = sandbox();
    let file = project_file(&s);
    let depth = 100_000;
    let mut text = String::from("{\"a\": ");
    text.push_str(&"[".repeat(depth));
    text.push_str(&"]".repeat(depth));
    text.push('}');
    write(&file, &text);
    assert_refused("100,000 nested arrays", &s, "opencode.json:1:", Some(&file));
}

#[test]
fn ten_mb_of_invalid_config_gives_a_short_error() {
    let s = sandbox();
    let file = project_file(&s);
    let mut text = String::from("{\"instructions\": [\"");
    text.push_str(&"x".repeat(10 * 1024 * 1024));
    text.push_str("\"], \"provider\": {\"p\": oops}}");
    write(&file, &text);
    assert_refused(
        "10 MB, broken at the end",
        &s,
        "opencode.json:1:",
        Some(&file),
    );
}

/// A provider that routes, and providers whose base URL is no URL.
fn mixed_providers(good_base: &str) -> Value {
    let compat = |base: Value| {
        json!({
            "npm": "@ai-sdk/openai-compatible",
            "options": { "baseURL": base, "apiKey": "k" },
            "models": { "m": {} },
        })
    };
    json!({
        "provider": {
            "good": compat(json!(good_base)),
            "not-a-url": compat(json!("not a url")),
            "javascript": compat(json!("javascript:alert(1)")),
            "userinfo": compat(json!("http://user:pw@x.dev/v1")),
            "spaces": compat(json!("https://x .dev/v1")),
            "control": compat(json!("https://x.dev/\u{1}")),
            "numeric-host": compat(json!("http://127.1:8080/v1")),
            "not-a-string": compat(json!(42)),
            "odd-types": { "npm": ["x"], "options": "nope", "models": 7 },
        },
        "disabled_providers": ["opencode"],
    })
}

const BAD_IDS: [&str; 8] = [
    "control",
    "javascript",
    "not-a-string",
    "not-a-url",
    "numeric-host",
    "odd-types",
    "spaces",
    "userinfo",
];

/// Checks the dry-run plan: `good` routed, every bad one left alone with a
/// reason, nothing launched.
fn assert_plan(what: &str, sandbox: &Sandbox) {
    let (output, took) = run(sandbox, &DRY_RUN);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{what}: {stderr}");
    assert!(stderr.is_empty(), "{what}: {stderr}");
    let plan: Value = serde_json::from_slice(&output.stdout).expect("dry-run JSON");
    let routed: Vec<&str> = plan["routed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(routed, ["good"], "{what}: {plan}");
    let left: Vec<(&str, &str)> = plan["left_alone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["id"].as_str().unwrap(), l["reason"].as_str().unwrap()))
        .collect();
    eprintln!(
        "config [{what}] dry-run in {:.0} ms:",
        took.as_secs_f64() * 1000.0
    );
    for (id, reason) in &left {
        eprintln!("config   left alone {id:<14} {reason}");
    }
    for id in BAD_IDS {
        let reason = left.iter().find(|(l, _)| *l == id).map(|(_, r)| *r);
        let reason = reason.unwrap_or_else(|| panic!("{what}: {id} is not left alone: {plan}"));
        assert!(!reason.is_empty(), "{what}: {id} without a reason");
    }
    assert!(
        launched_with(sandbox).is_none(),
        "{what}: dry-run launched opencode"
    );
}

/// Launches and checks the overlay opencode got: `good` rewritten, whole,
/// and nothing else.
fn assert_launch(what: &str, sandbox: &Sandbox, good_base: &str) {
    let (output, took) = run(sandbox, &LAUNCH);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{what}: {stderr}");
    let overlay =
        launched_with(sandbox).unwrap_or_else(|| panic!("{what}: opencode did not run: {stderr}"));
    eprintln!(
        "config [{what}] launch in {:.0} ms, overlay {} bytes",
        took.as_secs_f64() * 1000.0,
        overlay.to_string().len()
    );
    let providers = overlay["provider"].as_object().unwrap();
    assert_eq!(
        providers.keys().collect::<Vec<_>>(),
        ["good"],
        "{what}: {overlay}"
    );
    let options = &providers["good"]["options"];
    assert_eq!(
        options["headers"]["X-Headroom-Upstream"], good_base,
        "{what}"
    );
    let base_url = options["baseURL"].as_str().unwrap();
    assert!(
        base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/v1"),
        "{what}: {base_url}"
    );
    let args = std::fs::read_to_string(sandbox.root.path().join(format!("{RECORD}.args"))).unwrap();
    assert_eq!(args, "run\nhi\n");
}

#[test]
fn providers_whose_base_url_is_no_url_are_left_alone_with_a_reason() {
    let good = "http://127.0.0.1:9/v1";
    let s = sandbox();
    let file = project_file(&s);
    write(
        &file,
        serde_json::to_string_pretty(&mixed_providers(good)).unwrap(),
    );
    let before = std::fs::read(&file).unwrap();
    assert_plan("bad base URLs", &s);
    assert_launch("bad base URLs", &s, good);
    assert_eq!(std::fs::read(&file).unwrap(), before, "the config changed");
}

#[test]
fn a_ten_mb_config_still_launches_with_the_right_overlay() {
    let good = "http://127.0.0.1:9/v1";
    let s = sandbox();
    let file = project_file(&s);
    let mut config = mixed_providers(good);
    // 10 MiB: 90,000 models with long names on the good provider.
    let models: serde_json::Map<String, Value> = (0..90_000)
        .map(|i| {
            (
                format!("model-{i:06}"),
                json!({ "name": format!("{i:0>100}") }),
            )
        })
        .collect();
    config["provider"]["good"]["models"] = Value::Object(models);
    let text = serde_json::to_string(&config).unwrap();
    assert!(text.len() >= 10 * 1024 * 1024, "only {} bytes", text.len());
    write(&file, &text);
    eprintln!("config [10 MB]: {} bytes", text.len());
    assert_plan("10 MB", &s);
    assert_launch("10 MB", &s, good);
}
