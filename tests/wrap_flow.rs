//! The wrap flow with a stand-in opencode (a shell script that records what
//! it was given), so it runs without the real binary: the overlay in the
//! child's environment, arguments, exit codes, `--dry-run`, and config
//! errors that launch nothing. The real binary is driven in
//! wrap_opencode_e2e.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::opencode::{Sandbox, SCHEMA};

const TIMEOUT: Duration = Duration::from_secs(10);
use serde_json::{json, Value};

const FAKE_OPENCODE: &str = r#"#!/bin/sh
out="$(dirname "$0")/record"
{
  for a in "$@"; do printf '[%s]' "$a"; done; echo
  echo "PWD=$PWD"
  echo "CWD=$(pwd)"
  echo "NO_PROXY=$NO_PROXY"
  echo "no_proxy=$no_proxy"
} > "$out.txt"
printf '%s' "$OPENCODE_CONFIG_CONTENT" > "$out.json"
exit "${FAKE_EXIT:-0}"
"#;

/// A stand-in opencode that logs each SIGINT it gets, and names its parent
/// (headroom), until a `stop` file appears beside it.
const INTERRUPT_COUNTER: &str = r#"#!/bin/sh
dir="$(dirname "$0")"
trap 'echo int >> "$dir/interrupts"' INT
echo "$PPID" > "$dir/headroom.pid.tmp"
mv "$dir/headroom.pid.tmp" "$dir/headroom.pid"
while [ ! -f "$dir/stop" ]; do sleep 0.05; done
"#;

/// A sandbox whose opencode is the recording script.
fn sandbox_with_fake() -> (Sandbox, PathBuf) {
    sandbox_with(FAKE_OPENCODE)
}

/// A sandbox whose opencode is `script`.
fn sandbox_with(script: &str) -> (Sandbox, PathBuf) {
    let mut sandbox = Sandbox::new();
    let bin_dir = sandbox.root.path().join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let fake = bin_dir.join("opencode");
    std::fs::write(&fake, script).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin_dir.display(), sandbox.env["PATH"]);
    sandbox.env.insert("PATH".into(), path);
    (sandbox, bin_dir)
}

fn recorded(bin_dir: &std::path::Path) -> (String, Value) {
    let text = std::fs::read_to_string(bin_dir.join("record.txt")).unwrap();
    let content = std::fs::read_to_string(bin_dir.join("record.json")).unwrap();
    (text, serde_json::from_str(&content).unwrap())
}

#[test]
fn the_child_gets_the_overlay_its_args_and_exit_code() {
    let (mut sandbox, bin_dir) = sandbox_with_fake();
    sandbox
        .env
        .insert("DEEPSEEK_API_KEY".into(), "sk-deepseek".into());
    sandbox
        .env
        .insert("NO_PROXY".into(), "corp.internal".into());
    sandbox.env.insert("FAKE_EXIT".into(), "7".into());
    sandbox.env.insert(
        "OPENCODE_CONFIG_CONTENT".into(),
        r#"{ "theme": "mine", // kept
             "provider": { "deepseek": { "options": { "headers": { "X-Mine": "1" } } } } }"#
            .into(),
    );
    let config = sandbox.write_project_config(&json!({
        "$schema": SCHEMA,
        "provider": { "gateway": {
            "npm": "@ai-sdk/openai-compatible",
            "options": { "baseURL": "https://gw.example.com/api/v1" },
            "models": { "m": {} },
        } },
    }));
    let before = std::fs::read(&config).unwrap();
    let output = sandbox.run_headroom(&["wrap", "opencode", "--", "run", "two words", "--flag"]);
    assert_eq!(
        output.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let (text, overlay) = recorded(&bin_dir);
    let project = sandbox.project();
    assert!(text.starts_with("[run][two words][--flag]\n"), "{text}");
    assert!(
        text.contains(&format!("PWD={}\n", project.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("CWD={}\n", project.display())),
        "{text}"
    );
    assert!(
        text.contains("NO_PROXY=corp.internal,127.0.0.1,localhost\n"),
        "{text}"
    );
    assert!(
        text.contains("no_proxy=corp.internal,127.0.0.1,localhost\n"),
        "{text}"
    );

    assert_eq!(overlay["theme"], "mine");
    let deepseek = &overlay["provider"]["deepseek"]["options"];
    assert_eq!(deepseek["headers"]["X-Mine"], "1");
    assert_eq!(
        deepseek["headers"]["X-Headroom-Upstream"],
        "https://api.deepseek.com"
    );
    let proxy_base = deepseek["baseURL"].as_str().unwrap();
    assert!(proxy_base.starts_with("http://127.0.0.1:"), "{proxy_base}");
    let gateway = &overlay["provider"]["gateway"]["options"];
    assert_eq!(
        gateway["headers"]["X-Headroom-Upstream"],
        "https://gw.example.com/api/v1"
    );
    assert_eq!(gateway["baseURL"], format!("{proxy_base}/v1"));
    assert!(
        overlay["provider"].get("openai").is_none(),
        "an inactive provider was added"
    );
    assert_eq!(std::fs::read(&config).unwrap(), before);
}

#[test]
fn dry_run_lists_routed_and_left_alone_providers_and_launches_nothing() {
    let (mut sandbox, bin_dir) = sandbox_with_fake();
    sandbox
        .env
        .insert("OPENAI_API_KEY".into(), "sk-openai".into());
    sandbox.env.insert(
        "OPENCODE_AUTH_CONTENT".into(),
        r#"{ "github-copilot": { "type": "oauth", "refresh": "r", "access": "a", "expires": 0 } }"#
            .into(),
    );
    sandbox.write_project_config(&json!({
        "$schema": SCHEMA,
        "provider": { "nested": {
            "npm": "@ai-sdk/openai-compatible",
            "options": {
                "baseURL": "http://127.0.0.1:8787",
                "headers": { "X-Headroom-Upstream": "https://api.deepseek.com" },
            },
            "models": { "m": {} },
        } },
    }));
    let output =
        sandbox.run_headroom(&["wrap", "opencode", "--dry-run", "--json", "--port", "4567"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !bin_dir.join("record.txt").exists(),
        "--dry-run launched opencode"
    );
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    let routed = plan["routed"].as_array().unwrap();
    let openai = routed.iter().find(|r| r["id"] == "openai").unwrap();
    assert_eq!(openai["upstream"], "https://api.openai.com/v1");
    assert_eq!(openai["base_url"], "http://127.0.0.1:4567/v1");
    assert!(
        routed.iter().any(|r| r["id"] == "opencode"),
        "Zen is always active"
    );
    let copilot = plan["left_alone"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "github-copilot")
        .unwrap();
    assert!(copilot["reason"].as_str().unwrap().contains("OAuth"));
    let nested = plan["left_alone"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "nested");
    assert!(
        nested.is_some(),
        "a provider already behind headroom was routed again: {plan}"
    );
    assert_eq!(
        plan["overlay"]["provider"]["openai"]["options"]["headers"]["X-Headroom-Upstream"],
        "https://api.openai.com/v1"
    );

    let human = sandbox.run_headroom(&["wrap", "opencode", "--dry-run", "--skip", "openai"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("Routed through headroom"), "{text}");
    assert!(text.contains("github-copilot"), "{text}");
    assert!(text.contains("http://127.0.0.1:PORT"), "{text}");
    assert!(
        !text.contains("\"openai\""),
        "--skip openai still routed it: {text}"
    );
}

#[test]
fn a_broken_config_is_a_one_line_error_and_launches_nothing() {
    let (sandbox, bin_dir) = sandbox_with_fake();
    let file = sandbox.project().join("opencode.jsonc");
    std::fs::write(
        &file,
        "{\n  // comment\n  \"provider\": {\n    \"x\": { , }\n  }\n}\n",
    )
    .unwrap();
    let output = sandbox.run_headroom(&["wrap", "opencode", "--", "run", "hi"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("headroom: error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("{}:4:", file.display())),
        "{stderr}"
    );
    assert!(
        !bin_dir.join("record.txt").exists(),
        "opencode was launched"
    );
}

#[test]
fn a_provider_whose_base_url_is_this_proxy_by_any_loopback_name_is_left_alone() {
    let (sandbox, bin_dir) = sandbox_with_fake();
    let port = common::free_port();
    let elsewhere = loop {
        let other = common::free_port();
        if other != port {
            break other;
        }
    };
    let provider = |base: String| {
        json!({ "npm": "@ai-sdk/openai-compatible", "options": { "baseURL": base },
                "models": { "m": {} } })
    };
    sandbox.write_project_config(&json!({
        "$schema": SCHEMA,
        "provider": {
            "by_name": provider(format!("http://localhost:{port}/v1")),
            "by_ip": provider(format!("http://127.0.0.1:{port}")),
            "by_v6": provider(format!("http://[::1]:{port}/v1")),
            "elsewhere": provider(format!("http://localhost:{elsewhere}/v1")),
        },
    }));
    let looped = ["by_ip", "by_name", "by_v6"];
    let port_arg = port.to_string();

    let dry = sandbox.run_headroom(&[
        "wrap",
        "opencode",
        "--dry-run",
        "--json",
        "--port",
        &port_arg,
    ]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let plan: Value = serde_json::from_slice(&dry.stdout).unwrap();
    for id in looped {
        let left = plan["left_alone"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id);
        assert_eq!(
            left.map(|l| &l["reason"]),
            Some(&json!("already points at this proxy")),
            "{id}: {plan}"
        );
    }

    // The same with the proxy listening, as the run's plan is made.
    let run = sandbox.run_headroom(&["wrap", "opencode", "--quiet", "--port", &port_arg]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (_, overlay) = recorded(&bin_dir);
    for id in looped {
        assert!(
            overlay["provider"].get(id).is_none(),
            "{id} was routed: {overlay}"
        );
    }
    assert_eq!(
        overlay["provider"]["elsewhere"]["options"]["baseURL"],
        format!("http://127.0.0.1:{port}/v1"),
        "{overlay}"
    );
}

#[test]
fn only_or_skip_naming_an_inactive_provider_is_refused_listing_the_active_ones() {
    let (mut sandbox, bin_dir) = sandbox_with_fake();
    sandbox.env.insert("GROQ_API_KEY".into(), "k".into());
    for args in [
        &["wrap", "opencode", "--only", "groq", "--only", "bogus"][..],
        &["wrap", "opencode", "--skip", "bogus", "--", "run"],
        &["wrap", "opencode", "--dry-run", "--only", "bogus"],
    ] {
        let output = sandbox.run_headroom(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("bogus names no provider that is active in opencode; active providers: groq, opencode\n"),
            "{args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(
            !bin_dir.join("record.txt").exists(),
            "opencode was launched"
        );
    }
}

#[test]
fn a_run_that_routes_nothing_says_so_before_launch_and_sums_up_with_the_log() {
    let (sandbox, bin_dir) = sandbox_with_fake();
    let log = sandbox.root.path().join("wrap.log");
    let log_arg = log.display().to_string();
    let output = sandbox.run_headroom(&[
        "wrap",
        "opencode",
        "--skip",
        "opencode",
        "--log-file",
        &log_arg,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let (_, overlay) = recorded(&bin_dir);
    assert!(overlay.get("provider").is_none(), "{overlay}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        stderr.starts_with("headroom: warning: no provider is routed through headroom"),
        "{stderr}"
    );
    assert_eq!(
        lines[1..],
        [
            "headroom: forwarded through the proxy: 0 requests, 0 errors",
            &format!("headroom: log: {log_arg}")[..],
        ],
        "{stderr}"
    );

    let quiet = sandbox.run_headroom(&["wrap", "opencode", "--quiet", "--log-file", &log_arg]);
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "", "--quiet");
}

#[test]
fn the_log_file_takes_the_format_asked_for() {
    let (sandbox, _bin_dir) = sandbox_with_fake();
    let log = sandbox.root.path().join("wrap.log");
    let log_arg = log.display().to_string();
    let args = ["wrap", "opencode", "--quiet", "--log-format", "json"];
    let output = sandbox.run_headroom(&[&args[..], &["--log-file", &log_arg]].concat());
    assert!(output.status.success(), "{output:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("starting opencode"), "{text}");
    for line in text.lines() {
        let parsed: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
        assert!(parsed["level"].is_string(), "{line}");
    }
}

#[test]
fn a_ctrl_c_at_the_terminal_reaches_the_agent_once_and_a_sent_sigint_is_forwarded() {
    let (sandbox, bin_dir) = sandbox_with(INTERRUPT_COUNTER);
    let log = sandbox.root.path().join("wrap.log");
    let log_arg = log.display().to_string();
    let wrap = sandbox.headroom(&["wrap", "opencode", "--quiet", "--log-file", &log_arg]);
    let mut terminal = common::on_terminal(&wrap)
        .stdout(Stdio::null())
        .spawn()
        .expect("run script (util-linux) for a terminal");
    let pid_file = bin_dir.join("headroom.pid");
    common::wait_until(TIMEOUT, "the stand-in opencode to start", || {
        pid_file.exists()
    });
    let headroom: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let interrupts = || {
        std::fs::read_to_string(bin_dir.join("interrupts")).map_or(0, |text| text.lines().count())
    };

    // Ctrl-C typed at the terminal: the terminal signals its whole
    // foreground process group, the agent included.
    let mut keyboard = terminal.stdin.take().unwrap();
    keyboard.write_all(b"\x03").unwrap();
    common::wait_until(TIMEOUT, "the terminal's Ctrl-C to reach the agent", || {
        interrupts() >= 1
    });
    // A SIGINT sent to headroom alone reaches the agent only if forwarded.
    common::signal(headroom, "INT");
    common::wait_until(
        TIMEOUT,
        "the SIGINT sent to headroom to be forwarded",
        || interrupts() >= 2,
    );
    // Time for a duplicate of either to arrive.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(interrupts(), 2, "the agent got a signal twice");

    std::fs::write(bin_dir.join("stop"), "").unwrap();
    drop(keyboard);
    let status = common::wait_exit(&mut terminal, TIMEOUT, "headroom did not exit");
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        log.matches("forwarding signal to the agent").count(),
        1,
        "{log}"
    );
    assert!(
        log.contains("the terminal's Ctrl-C reached the agent itself"),
        "{log}"
    );
}

/// A stand-in opencode that makes LLM requests through the proxy the way
/// opencode would, with bash's /dev/tcp: two chat completions for
/// `gateway`, an Anthropic message, and one the mock refuses with a 401.
const REQUESTING_AGENT: &str = r#"#!/bin/bash
port=$(printf '%s' "$OPENCODE_CONFIG_CONTENT" | grep -o '127\.0\.0\.1:[0-9]*' | head -n1 | cut -d: -f2)
post() {
  exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 9
  printf 'POST %s HTTP/1.1\r\nHost: x\r\nX-Headroom-Upstream: %s\r\nX-Headroom-Provider: %s\r\nx-api-key: %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
    "$1" "$MOCK_URL/v1" "$2" "$3" "${#4}" "$4" >&3
  cat <&3 > /dev/null
  exec 3<&-
}
post /v1/chat/completions gateway k1 '{"model":"gpt-4o-mini"}'
post /v1/chat/completions gateway k1 '{"model":"gpt-4o-mini"}'
post /v1/messages anthropic k2 '{"model":"claude-sonnet-4-5","max_tokens":9}'
post /v1/messages anthropic FAIL401 '{"model":"claude-sonnet-4-5","max_tokens":9}'
"#;

/// `(requests, input, cache read, output)` of `n` answers at `path`.
fn figures_of(path: &str, n: u64) -> [u64; 4] {
    let [input, cache_read, _, output, _] = common::mock::usage::read_at(path);
    let figure = |f: Option<u64>| f.unwrap() * n;
    [n, figure(input), figure(cache_read), figure(output)]
}

/// The cells a summary line shows for `figures`, `cost` and `errors`.
fn cells(figures: [u64; 4], cost: &str, errors: u64) -> Vec<String> {
    let [requests, input, cache_read, output] = figures;
    let share = (cache_read as f64 / input as f64 * 100.0).round();
    vec![
        requests.to_string(),
        input.to_string(),
        format!("{share}%"),
        output.to_string(),
        cost.to_string(),
        errors.to_string(),
    ]
}

#[test]
fn the_exit_summary_sums_each_provider_and_model_and_the_run() {
    let mock = common::mock::MockUpstream::start();
    let (mut sandbox, _) = sandbox_with(REQUESTING_AGENT);
    sandbox.env.insert("MOCK_URL".into(), mock.url());
    let log = sandbox.root.path().join("wrap.log");
    let log_arg = log.display().to_string();
    for no_ledger in [false, true] {
        let mut args = vec!["wrap", "opencode", "--log-file", &log_arg];
        if no_ledger {
            args.push("--no-ledger");
        }
        let output = sandbox.run_headroom(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(
            lines.first(),
            Some(&"headroom: forwarded through the proxy: 4 requests, 1 error"),
            "{stderr}"
        );
        let header = lines
            .iter()
            .position(|l| l.starts_with("  PROVIDER"))
            .unwrap();
        let columns: Vec<&str> = lines[header].split_whitespace().collect();
        assert_eq!(
            columns,
            ["PROVIDER", "MODEL", "REQS", "INPUT", "CACHED", "OUTPUT", "COST", "ERRS"]
        );
        let row = |n: usize| lines[header + n].split_whitespace().collect::<Vec<_>>();
        let chat = figures_of("/v1/chat/completions", 2);
        let messages = figures_of("/v1/messages", 1);
        // The 401 reported no usage; it is a request and an error.
        let anthropic = [messages[0] + 1, messages[1], messages[2], messages[3]];
        assert_eq!(row(1)[..2], ["anthropic", "claude-sonnet-4-5"], "{stderr}");
        assert_eq!(row(1)[2..], cells(anthropic, "<$0.01", 1), "{stderr}");
        assert_eq!(row(2)[..2], ["gateway", "gpt-4o-mini"], "{stderr}");
        assert_eq!(row(2)[2..], cells(chat, "<$0.01", 0), "{stderr}");
        let total: Vec<u64> = (0..4).map(|i| anthropic[i] + chat[i]).collect();
        assert_eq!(row(3)[0], "total", "{stderr}");
        let total = [total[0], total[1], total[2], total[3]];
        assert_eq!(row(3)[1..], cells(total, "<$0.01", 1), "{stderr}");
        assert_eq!(
            lines[header + 4..],
            [&format!("headroom: log: {log_arg}")[..]]
        );
        for line in &lines[..header + 4] {
            assert!(line.chars().count() <= 80, "wider than 80 columns: {line}");
        }
    }
    let state = sandbox
        .root
        .path()
        .join("home/.local/state/headroom/usage.db");
    assert!(state.exists(), "the first run kept no ledger");
}

#[test]
fn wrap_without_an_agent_lists_each_with_whether_it_is_installed_and_its_version() {
    let (sandbox, _) = sandbox_with("#!/bin/sh\n[ \"$1\" = --version ] && echo '9.8.7'\n");
    let output = sandbox.run_headroom(&["wrap", "--json"]);
    assert!(output.status.success(), "{output:?}");
    let rows: Value = serde_json::from_slice(&output.stdout).unwrap();
    let opencode = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["agent"] == "opencode")
        .unwrap();
    assert_eq!(opencode["installed"], true, "{rows}");
    assert_eq!(opencode["version"], "9.8.7", "{rows}");

    let mut bare = Sandbox::new();
    bare.env.insert("PATH".into(), "/nonexistent".into());
    let text = bare.run_headroom(&["wrap"]);
    assert!(text.status.success(), "{text:?}");
    let table = String::from_utf8_lossy(&text.stdout);
    let line = table
        .lines()
        .find(|line| line.starts_with("opencode "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains(" no "), "{table}");
}

#[test]
fn dry_run_shows_the_exact_environment_and_command_with_secrets_masked() {
    let (mut sandbox, bin_dir) = sandbox_with_fake();
    sandbox.env.insert("GROQ_API_KEY".into(), "k".into());
    sandbox.env.insert(
        "OPENCODE_CONFIG_CONTENT".into(),
        r#"{"provider": {"groq": {"options": {"apiKey": "gsk-SECRET"}}}}"#.into(),
    );
    let output =
        sandbox.run_headroom(&["wrap", "opencode", "--dry-run", "--json", "--", "run", "hi"]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("gsk-SECRET"), "{stdout}");
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    let content: Value =
        serde_json::from_str(plan["env"]["OPENCODE_CONFIG_CONTENT"].as_str().unwrap()).unwrap();
    let groq = &content["provider"]["groq"]["options"];
    assert_eq!(groq["apiKey"], "***", "{plan}");
    assert_eq!(groq["baseURL"], "http://127.0.0.1:PORT/v1", "{plan}");
    let command: Vec<&str> = plan["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        command,
        [bin_dir.join("opencode").to_str().unwrap(), "run", "hi"]
    );
}

#[test]
fn a_setup_that_cannot_be_routed_stops_unless_allowed_and_then_runs_unrouted() {
    let mut sandbox = Sandbox::new();
    let bin_dir = sandbox.root.path().join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let fake = bin_dir.join("claude");
    let record = bin_dir.join("args.txt");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done > '{}'\nexit 3\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    sandbox
        .env
        .insert("HEADROOM_CLAUDE_BIN".into(), fake.display().to_string());
    sandbox
        .env
        .insert("CLAUDE_CODE_USE_BEDROCK".into(), "1".into());

    let refused = sandbox.run_headroom(&["wrap", "claude", "--", "-p", "hi"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("Amazon Bedrock"), "{stderr}");
    assert!(stderr.contains("--allow-unrouted"), "{stderr}");
    assert!(!record.exists(), "claude was launched");

    let allowed = sandbox.run_headroom(&["wrap", "claude", "--allow-unrouted", "--", "-p", "hi"]);
    let stderr = String::from_utf8_lossy(&allowed.stderr);
    assert_eq!(allowed.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("launching claude unrouted"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&record).unwrap(), "[-p][hi]");
}

#[test]
fn claudes_dry_run_masks_the_users_own_header_values() {
    let mut sandbox = Sandbox::new();
    sandbox.env.insert(
        "ANTHROPIC_CUSTOM_HEADERS".into(),
        "X-Gateway-Token: tok-SECRET".into(),
    );
    let output = sandbox.run_headroom(&["wrap", "claude", "--dry-run", "--", "-p", "hi"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(!stdout.contains("tok-SECRET"), "{stdout}");
    assert!(stdout.contains("X-Gateway-Token: ***"), "{stdout}");
    assert!(
        stdout.contains("https://api.anthropic.com  via http://127.0.0.1:PORT"),
        "{stdout}"
    );
    assert!(stdout.contains("--settings"), "{stdout}");
}

#[test]
fn a_broken_price_file_is_told_on_the_terminal_not_only_in_the_log() {
    let (sandbox, _bin_dir) = sandbox_with_fake();
    let prices = sandbox
        .root
        .path()
        .join("home/.config/headroom/prices.json");
    std::fs::create_dir_all(prices.parent().unwrap()).unwrap();
    std::fs::write(
        &prices,
        r#"{"providers": {"gw": {"m": {"input": -5, "output": 1}}}}"#,
    )
    .unwrap();
    let output = sandbox.run_headroom(&["wrap", "opencode", "--quiet"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let expected = format!(
        "headroom: warning: ignoring the price file {}: -5 is not a price",
        prices.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(
        stderr.ends_with("; the built-in prices apply\n"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_dry_run_that_cannot_be_routed_shows_only_the_unrouted_launch() {
    let mut sandbox = Sandbox::new();
    let codex_home = sandbox.root.path().join("codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    std::fs::write(
        codex_home.join("config.toml"),
        "model_provider = \"corp\"\n[model_providers.corp]\nbase_url = \"https://gw.example/v1\"\n",
    )
    .unwrap();
    sandbox
        .env
        .insert("CODEX_HOME".into(), codex_home.display().to_string());
    for (agent, args) in [
        ("claude", &["--settings", "mine.json", "-p", "hi"][..]),
        ("codex", &["-c", "model_provider=other", "exec", "hi"]),
        ("codex", &["--oss", "exec", "hi"]),
    ] {
        let dry_run = |flags: &[&str]| {
            let words: Vec<&str> = ["wrap", agent]
                .iter()
                .chain(flags)
                .chain(["--"].iter())
                .chain(args)
                .copied()
                .collect();
            let output = sandbox.run_headroom(&words);
            assert!(output.status.success(), "{output:?}");
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        let text = dry_run(&["--dry-run"]);
        assert!(
            text.starts_with("Not routable: "),
            "{agent} {args:?}: {text}"
        );
        assert!(!text.contains("Routed"), "{agent} {args:?}: {text}");
        assert!(!text.contains("127.0.0.1:PORT"), "{agent} {args:?}: {text}");
        let plan: Value = serde_json::from_str(&dry_run(&["--dry-run", "--json"])).unwrap();
        assert!(plan["unroutable"].is_string(), "{plan}");
        assert_eq!(plan["routed"], json!([]), "{plan}");
        let command = plan["command"].as_array().unwrap();
        assert_eq!(command[1..], json!(args).as_array().unwrap()[..], "{plan}");
    }
}

#[test]
fn a_spill_dir_that_cannot_be_made_stops_wrap_before_the_agent_starts() {
    let (sandbox, bin_dir) = sandbox_with_fake();
    let file = sandbox.root.path().join("file");
    std::fs::write(&file, "").unwrap();
    let spill_dir = file.join("spill");
    let spill = spill_dir.to_str().unwrap();
    let output = sandbox.run_headroom(&["wrap", "opencode", "--spill-dir", spill]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "headroom: error: the spill directory {spill} cannot be used: {} is not a directory; give --spill-dir a directory you can write, or pass --compress off\n",
            file.display()
        )
    );
    assert!(
        !bin_dir.join("record.txt").exists(),
        "opencode was launched"
    );
    let off = sandbox.run_headroom(&[
        "wrap",
        "opencode",
        "--compress",
        "off",
        "--spill-dir",
        spill,
    ]);
    assert!(off.status.success(), "{off:?}");
    assert!(
        bin_dir.join("record.txt").exists(),
        "opencode was not launched"
    );
}

/// `headroom wrap ARGS --dry-run`, then with `--json`: both outputs.
fn dry_runs(sandbox: &Sandbox, agent: &str) -> [String; 2] {
    [&["--dry-run"][..], &["--dry-run", "--json"]].map(|flags| {
        let args: Vec<&str> = ["wrap", agent].iter().chain(flags).copied().collect();
        let output = sandbox.run_headroom(&args);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    })
}

/// A base URL with a password or a query cannot be routed (the proxy
/// refuses such an upstream): every agent's dry run says why, without
/// showing the secret.
#[test]
fn every_agents_dry_run_of_a_base_url_with_a_password_or_query_hides_it() {
    let mut sandbox = Sandbox::new();
    sandbox.env.insert("GEMINI_API_KEY".into(), "k".into());
    let codex_home = sandbox.root.path().join("codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    sandbox
        .env
        .insert("CODEX_HOME".into(), codex_home.display().to_string());
    for (base, why) in [
        ("https://user:s3cret@gw.example/v1", "userinfo"),
        ("https://gw.example/v1?key=s3cret", "query"),
    ] {
        sandbox.env.insert("ANTHROPIC_BASE_URL".into(), base.into());
        sandbox
            .env
            .insert("GOOGLE_GEMINI_BASE_URL".into(), base.into());
        std::fs::write(
            codex_home.join("config.toml"),
            format!("model_provider = \"corp\"\n[model_providers.corp]\nbase_url = \"{base}\"\n"),
        )
        .unwrap();
        for agent in ["claude", "gemini", "codex"] {
            let [text, json] = dry_runs(&sandbox, agent);
            for out in [&text, &json] {
                assert!(!out.contains("s3cret"), "{agent}: {out}");
            }
            assert!(text.starts_with("Not routable: "), "{agent}: {text}");
            assert!(text.contains(why), "{agent}: {text}");
            let plan: Value = serde_json::from_str(&json).unwrap();
            assert!(plan["unroutable"].is_string(), "{agent}: {plan}");
        }
    }
}

#[test]
fn an_mcp_servers_environment_and_url_query_are_masked_but_reach_the_child() {
    let (mut sandbox, bin_dir) = sandbox_with_fake();
    let content = json!({"mcp": {
        "gh": {"type": "local", "command": ["gh-mcp"], "environment": {"GITHUB_PAT": "ghp_SECRET"}},
        "docs": {"type": "remote", "url": "https://mcp.example/x?token=MCPTOK"},
    }});
    sandbox
        .env
        .insert("OPENCODE_CONFIG_CONTENT".into(), content.to_string());
    for out in dry_runs(&sandbox, "opencode") {
        assert!(!out.contains("ghp_SECRET"), "{out}");
        assert!(!out.contains("MCPTOK"), "{out}");
        assert!(out.contains("https://mcp.example/x?token=***"), "{out}");
    }

    let output = sandbox.run_headroom(&["wrap", "opencode", "--quiet"]);
    assert!(output.status.success(), "{output:?}");
    let (_, given) = recorded(&bin_dir);
    assert_eq!(given["mcp"], content["mcp"]);
}

#[test]
fn the_provider_header_shows_its_id_in_the_overlay_and_the_environment_alike() {
    let (sandbox, _) = sandbox_with_fake();
    let [text, json] = dry_runs(&sandbox, "opencode");
    let plan: Value = serde_json::from_str(&json).unwrap();
    let overlay = &plan["overlay"]["provider"]["opencode"]["options"]["headers"];
    assert_eq!(overlay["X-Headroom-Provider"], "opencode", "{plan}");
    let content: Value =
        serde_json::from_str(plan["env"]["OPENCODE_CONFIG_CONTENT"].as_str().unwrap()).unwrap();
    let env = &content["provider"]["opencode"]["options"]["headers"];
    assert_eq!(env["X-Headroom-Provider"], "opencode", "{plan}");
    assert!(!text.contains("***"), "{text}");
}

#[test]
fn dry_run_shows_the_directory_and_no_proxy_every_child_gets() {
    let (mut sandbox, bin_dir) = sandbox_with_fake();
    sandbox
        .env
        .insert("NO_PROXY".into(), "corp.internal".into());
    let [text, json] = dry_runs(&sandbox, "opencode");
    let plan: Value = serde_json::from_str(&json).unwrap();

    let output = sandbox.run_headroom(&["wrap", "opencode", "--quiet"]);
    assert!(output.status.success(), "{output:?}");
    let (given, _) = recorded(&bin_dir);
    for name in ["PWD", "NO_PROXY", "no_proxy"] {
        let value = given
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .unwrap();
        assert_eq!(plan["env"][name], value, "{name}: {plan}");
        assert!(text.contains(&format!("\n  {name}={value}\n")), "{text}");
    }
}

#[test]
fn an_agent_whose_interpreter_is_missing_is_told_apart_from_a_missing_agent() {
    let (sandbox, bin_dir) = sandbox_with("#!/nonexistent/interpreter\n");
    let output = sandbox.run_headroom(&["wrap", "opencode", "--quiet"]);
    assert_eq!(output.status.code(), Some(127));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "headroom: error: could not start {}: its interpreter",
        bin_dir.join("opencode").display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
}
