//! `headroom wrap opencode` with the real opencode 1.18.33 binary against a
//! mock upstream on loopback: every SDK family, a prefixed base URL, the
//! user's files untouched, exit codes and signals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::process::Output;
use std::time::Duration;

use common::mock::{usage, MockUpstream, REPLY};
use common::opencode::{self, Sandbox, SCHEMA};
use common::{free_port, signal};
use serde_json::json;

/// opencode's arguments for one prompt to the mock's model.
const SAY_HI: [&str; 7] = [
    "--",
    "run",
    "--title",
    "t",
    "--model",
    "mockcompat/mock-model",
    "say hi",
];

/// A project config with one provider per SDK family, all pointed at the
/// mock, each with a key of its own.
fn config_for(mock: &MockUpstream) -> serde_json::Value {
    let base = mock.url();
    let model = json!({ "mock-model": { "name": "Mock model" } });
    json!({
        "$schema": SCHEMA,
        "provider": {
            "mockcompat": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Mock compatible",
                "options": { "baseURL": format!("{base}/v1"), "apiKey": "sk-compat-KEY" },
                "models": model,
            },
            "prefixed": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Prefixed gateway",
                "options": { "baseURL": format!("{base}/api/v1"), "apiKey": "sk-prefixed-KEY" },
                "models": model,
            },
            "openai": {
                "options": { "baseURL": format!("{base}/v1"), "apiKey": "sk-openai-KEY" },
                "models": model,
            },
            "anthropic": {
                "options": { "baseURL": format!("{base}/v1"), "apiKey": "ant-KEY" },
                "models": model,
            },
            "google": {
                "options": { "baseURL": format!("{base}/v1beta"), "apiKey": "goog-KEY" },
                "models": model,
            },
        },
    })
}

/// A sandbox whose headroom runs the installed opencode.
fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    let binary = opencode::binary().display().to_string();
    sandbox.env.insert("HEADROOM_OPENCODE_BIN".into(), binary);
    sandbox
}

/// A sandbox whose project has `config_for(mock)`'s providers, and one
/// more, `othercompat`, at `other`.
fn sandbox_with_other(mock: &MockUpstream, other: &MockUpstream) -> Sandbox {
    let sandbox = sandbox();
    let mut config = config_for(mock);
    config["provider"]["othercompat"] = config["provider"]["mockcompat"].clone();
    config["provider"]["othercompat"]["options"]["baseURL"] = json!(format!("{}/v1", other.url()));
    sandbox.write_project_config(&config);
    sandbox
}

fn run_model(sandbox: &Sandbox, model: &str) -> Output {
    sandbox.run_headroom(&[
        "wrap", "opencode", "--", "run", "--title", "t", "--model", model, "say hi",
    ])
}

fn assert_no_control_headers(mock: &MockUpstream) {
    for request in mock.requests() {
        for name in request.headers.keys() {
            assert!(
                !name.as_str().starts_with("x-headroom-"),
                "{name} reached the mock"
            );
        }
    }
}

/// The usage the request log line must carry for an answer at `path`, as
/// the mock reports it; a figure the API does not report is absent.
fn usage_figures(path: &str) -> Vec<String> {
    let mut figures = vec!["model=\"mock-model\"".to_string()];
    for (name, figure) in usage::FIGURES.iter().zip(usage::read_at(path)) {
        if let Some(figure) = figure {
            figures.push(format!("{name}={figure}"));
        }
    }
    figures
}

#[test]
#[cfg_attr(
    opencode_missing,
    ignore = "opencode 1.18.33 is not installed in target/test-deps: see the README's test command"
)]
fn every_sdk_family_reaches_the_mock_through_the_proxy() {
    let mock = MockUpstream::start();
    let sandbox = sandbox();
    let config_file = sandbox.write_project_config(&config_for(&mock));
    let before = std::fs::read(&config_file).unwrap();

    let log_file = sandbox
        .root
        .path()
        .join("home/.local/state/headroom/wrap-opencode.log");
    let cases = [
        (
            "mockcompat/mock-model",
            "/v1/chat/completions",
            "authorization",
            "Bearer sk-compat-KEY",
        ),
        (
            "prefixed/mock-model",
            "/api/v1/chat/completions",
            "authorization",
            "Bearer sk-prefixed-KEY",
        ),
        (
            "openai/mock-model",
            "/v1/responses",
            "authorization",
            "Bearer sk-openai-KEY",
        ),
        (
            "anthropic/mock-model",
            "/v1/messages",
            "x-api-key",
            "ant-KEY",
        ),
        (
            "google/mock-model",
            "/v1beta/models/mock-model:streamGenerateContent?alt=sse",
            "x-goog-api-key",
            "goog-KEY",
        ),
    ];
    for (model, path, auth_header, auth_value) in cases {
        let seen_before = mock.requests().len();
        let logged_before = std::fs::read_to_string(&log_file).map_or(0, |log| log.len());
        let output = run_model(&sandbox, model);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{model}: {:?}\nstdout:{stdout}\nstderr:{stderr}",
            output.status
        );
        assert!(
            stdout.contains(REPLY),
            "{model}: the reply is missing\nstdout:{stdout}\nstderr:{stderr}"
        );
        let requests = mock.requests();
        let request = requests[seen_before..]
            .iter()
            .find(|r| r.target == path)
            .unwrap_or_else(|| {
                panic!(
                    "{model}: no request at {path}; saw {:?}",
                    requests.iter().map(|r| &r.target).collect::<Vec<_>>()
                )
            });
        assert_eq!(request.header(auth_header), Some(auth_value), "{model}");
        assert!(
            stderr.contains("forwarded through the proxy"),
            "{model}: no summary\n{stderr}"
        );
        let log = std::fs::read_to_string(&log_file).unwrap();
        // The log names the client's path, without the query; the base
        // path in front of it may differ from the upstream's.
        let endpoint = path.split('?').next().unwrap().rsplit('/').next().unwrap();
        let logged_path = format!("/{endpoint}\" ");
        let line = log[logged_before..]
            .lines()
            .find(|line| line.contains("headroom::request") && line.contains(&logged_path))
            .unwrap_or_else(|| panic!("{model}: no request line for {path}:\n{log}"));
        let fields: Vec<&str> = line.split_whitespace().collect();
        for figure in usage_figures(path) {
            assert!(
                fields.contains(&figure.as_str()),
                "{model}: no {figure} in {line}"
            );
        }
    }
    assert_no_control_headers(&mock);

    let port = free_port();
    let port = port.to_string();
    let quiet = sandbox.run_headroom(
        &[
            &["wrap", "opencode", "--quiet", "--port", &port][..],
            &SAY_HI,
        ]
        .concat(),
    );
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(quiet.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&quiet.stdout).contains(REPLY));
    assert!(
        !stderr.contains("forwarded through the proxy"),
        "--quiet printed a summary: {stderr}"
    );
    let log = std::fs::read_to_string(
        sandbox
            .root
            .path()
            .join("home/.local/state/headroom/wrap-opencode.log"),
    )
    .unwrap();
    assert!(
        log.contains(&format!("proxy=http://127.0.0.1:{port}")),
        "--port was not used:\n{log}"
    );

    assert_eq!(
        std::fs::read(&config_file).unwrap(),
        before,
        "the user's config changed"
    );
}

#[test]
#[cfg_attr(
    opencode_missing,
    ignore = "opencode 1.18.33 is not installed in target/test-deps: see the README's test command"
)]
fn the_exit_summary_names_provider_ids_counts_zero_and_ends_with_the_log() {
    let mock = MockUpstream::start();
    let other = MockUpstream::start();
    let sandbox = sandbox_with_other(&mock, &other);
    let log = sandbox
        .root
        .path()
        .join("home/.local/state/headroom/wrap-opencode.log");
    let log_line = format!("headroom: log: {}", log.display());

    let output = sandbox.run_headroom(&[
        "wrap",
        "opencode",
        "--only",
        "othercompat",
        "--only",
        "anthropic",
        "--",
        "run",
        "--title",
        "t",
        "--model",
        "othercompat/mock-model",
        "say hi",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let summary = lines
        .iter()
        .position(|l| l.starts_with("headroom: forwarded through the proxy: "))
        .unwrap_or_else(|| panic!("no summary: {stderr}"));
    let table = &lines[summary + 1..lines.len() - 1];
    assert!(table[0].starts_with("  PROVIDER "), "{stderr}");
    let providers: Vec<&str> = table[1..]
        .iter()
        .filter(|line| !line.starts_with("  +"))
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(providers, ["othercompat", "total"], "{stderr}");
    assert_eq!(lines.last(), Some(&&log_line[..]), "{stderr}");
    assert!(!other.requests().is_empty() && mock.requests().is_empty());

    let idle = sandbox.run_headroom(&["wrap", "opencode", "--", "--version"]);
    let stderr = String::from_utf8_lossy(&idle.stderr);
    assert!(idle.status.success(), "{stderr}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            "headroom: forwarded through the proxy: 0 requests, 0 errors",
            &log_line[..]
        ],
        "{stderr}"
    );
}

/// A wrap run in the background, with the processes it started.
struct Running {
    child: std::process::Child,
    sandbox: Sandbox,
    config_file: std::path::PathBuf,
    config_before: Vec<u8>,
}

/// Where a run's headroom is started.
#[derive(Clone, Copy, PartialEq)]
enum Launch {
    /// A background process with no terminal.
    Detached,
    /// The foreground of a terminal of its own (see `common::on_terminal`).
    OnTerminal,
}

/// Starts `headroom wrap opencode` on a model whose requests the mock
/// holds open, and waits until the request is in flight.
fn start_hanging_run(mock: &MockUpstream, key: &str) -> Running {
    start_run(mock, key, Launch::Detached)
}

fn start_run(mock: &MockUpstream, key: &str, launch: Launch) -> Running {
    let mut sandbox = sandbox();
    let tmp = sandbox.root.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    sandbox
        .env
        .insert("TMPDIR".into(), tmp.display().to_string());
    let mut config = config_for(mock);
    config["provider"]["mockcompat"]["options"]["apiKey"] = json!(key);
    let config_file = sandbox.write_project_config(&config);
    let config_before = std::fs::read(&config_file).unwrap();
    let seen_before = mock.requests().len();
    let mut command = sandbox.headroom(&[&["wrap", "opencode"][..], &SAY_HI].concat());
    if launch == Launch::OnTerminal {
        command = common::on_terminal(&command);
    }
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    if key.contains("HANG") {
        common::wait_until(
            Duration::from_secs(60),
            "the request to reach the mock",
            || mock.requests().len() > seen_before,
        );
    }
    Running {
        child,
        sandbox,
        config_file,
        config_before,
    }
}

/// Every process below `pid`, from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut stack = vec![pid];
    while let Some(parent) = stack.pop() {
        let tasks = std::fs::read_dir(format!("/proc/{parent}/task"))
            .into_iter()
            .flatten()
            .flatten();
        for task in tasks {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push(child);
                stack.push(child);
            }
        }
    }
    found
}

fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// Counted from the spawn, so it covers opencode's start (its first run in
/// a fresh home migrates a database): 30 s was seen on a loaded machine.
fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    common::wait_exit(child, Duration::from_secs(90), "headroom did not exit")
}

/// headroom's log of the run, empty when there is none.
fn wrap_log(run: &Running) -> String {
    let file = run
        .sandbox
        .root
        .path()
        .join("home/.local/state/headroom/wrap-opencode.log");
    std::fs::read_to_string(file).unwrap_or_default()
}

/// After a run: nothing of it is alive or listening, the user's config is
/// byte-identical, and no temp file was left.
fn assert_torn_down(run: &Running, processes: &[u32]) {
    common::wait_until(
        Duration::from_secs(5),
        "every process of the run to exit",
        || processes.iter().all(|pid| !is_alive(*pid)),
    );
    assert_eq!(std::fs::read(&run.config_file).unwrap(), run.config_before);
    let log = wrap_log(run);
    let proxy = log
        .split("proxy=http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no proxy address in the log:\n{log}"));
    assert!(
        std::net::TcpStream::connect(proxy).is_err(),
        "{proxy} still listening"
    );
    let leftovers: Vec<_> = std::fs::read_dir(run.sandbox.root.path().join("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // opencode's own: its runtime unpacks a native library and keeps a dir.
        .filter(|name| !(name == "opencode" || (name.starts_with('.') && name.ends_with(".so"))))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
#[cfg_attr(
    opencode_missing,
    ignore = "opencode 1.18.33 is not installed in target/test-deps: see the README's test command"
)]
fn signals_to_headroom_end_both_processes_with_128_plus_n() {
    let mock = MockUpstream::start();
    for (name, number) in [("INT", 2), ("TERM", 15), ("HUP", 1)] {
        let mut run = start_hanging_run(&mock, "sk-HANG");
        let pid = run.child.id();
        let mut processes = descendants(pid);
        assert!(
            !processes.is_empty(),
            "opencode is not running under headroom"
        );
        signal(pid, name);
        let status = wait_exit(&mut run.child);
        assert_eq!(status.code(), Some(128 + number), "SIG{name}");
        processes.push(pid);
        assert_torn_down(&run, &processes);
    }
}

#[test]
#[cfg_attr(
    opencode_missing,
    ignore = "opencode 1.18.33 is not installed in target/test-deps: see the README's test command"
)]
fn a_ctrl_c_at_the_terminal_reaches_opencode_once_and_ends_the_run() {
    let mock = MockUpstream::start();
    let mut run = start_run(&mock, "sk-HANG", Launch::OnTerminal);
    let mut processes = descendants(run.child.id());
    assert!(
        processes.len() >= 2,
        "opencode is not running under headroom on the terminal"
    );
    let mut keyboard = run.child.stdin.take().unwrap();
    keyboard.write_all(b"\x03").unwrap();
    let status = wait_exit(&mut run.child);
    // `script -e` passes on headroom's code, which is opencode's.
    assert_eq!(
        status.code(),
        Some(128 + 2),
        "opencode did not end on the Ctrl-C"
    );
    processes.push(run.child.id());
    assert_torn_down(&run, &processes);
    let log = wrap_log(&run);
    assert!(
        log.contains("the terminal's Ctrl-C reached the agent itself"),
        "{log}"
    );
    assert!(
        !log.contains("forwarding signal"),
        "a second SIGINT went to opencode: {log}"
    );
}

#[test]
#[cfg_attr(
    opencode_missing,
    ignore = "opencode 1.18.33 is not installed in target/test-deps: see the README's test command"
)]
fn opencode_failing_or_killed_sets_headrooms_exit_code() {
    let mock = MockUpstream::start();

    let mut failing = start_hanging_run(&mock, "sk-FAIL401");
    let status = wait_exit(&mut failing.child);
    assert_eq!(status.code(), Some(1), "a 401 makes opencode exit 1");
    assert_torn_down(&failing, &[]);

    let mut killed = start_hanging_run(&mock, "sk-HANG");
    let pid = killed.child.id();
    let processes = descendants(pid);
    signal(processes[0], "KILL");
    let status = wait_exit(&mut killed.child);
    assert_eq!(status.code(), Some(128 + 9));
    assert_torn_down(&killed, &processes);
}

#[test]
#[cfg_attr(
    opencode_missing,
    ignore = "opencode 1.18.33 is not installed in target/test-deps: see the README's test command"
)]
fn opencode_dies_with_a_sigkilled_headroom() {
    let mock = MockUpstream::start();
    let mut run = start_hanging_run(&mock, "sk-HANG");
    let pid = run.child.id();
    let mut processes = descendants(pid);
    assert!(!processes.is_empty());
    signal(pid, "KILL");
    wait_exit(&mut run.child);
    processes.push(pid);
    assert_torn_down(&run, &processes);
}

/// The LLM requests `mock` saw: their count and the sums of the figures
/// its answers reported, in `usage::read_at`'s order.
fn llm_usage(mock: &MockUpstream) -> (u64, [u64; 5]) {
    let mut sums = [0; 5];
    let mut requests = 0;
    for request in mock.requests() {
        if request.method != http::Method::POST
            || headroom::usage::Family::for_path(&request.target).is_none()
        {
            continue;
        }
        requests += 1;
        for (sum, figure) in sums.iter_mut().zip(usage::read_at(&request.target)) {
            *sum += figure.unwrap_or(0);
        }
    }
    (requests, sums)
}

fn usage_by(sandbox: &Sandbox, by: &str) -> Vec<serde_json::Value> {
    let output = sandbox.run_headroom(&["usage", "--json", "--since", "1d", "--by", by]);
    assert!(output.status.success(), "{output:?}");
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    rows.as_array().unwrap().clone()
}

#[test]
#[cfg_attr(
    opencode_missing,
    ignore = "opencode 1.18.33 is not installed in target/test-deps: see the README's test command"
)]
fn the_ledger_holds_each_request_under_its_provider_and_opencode() {
    let mock = MockUpstream::start();
    let other = MockUpstream::start();
    let sandbox = sandbox_with_other(&mock, &other);
    for (only, model) in [
        ("othercompat", "othercompat/mock-model"),
        ("anthropic", "anthropic/mock-model"),
    ] {
        let output = sandbox.run_headroom(&[
            "wrap", "opencode", "--only", only, "--", "run", "--title", "t", "--model", model,
            "say hi",
        ]);
        assert!(output.status.success(), "{output:?}");
    }
    let by_provider = usage_by(&sandbox, "provider");
    assert_eq!(by_provider.len(), 2, "{by_provider:?}");
    for (provider, upstream) in [("othercompat", &other), ("anthropic", &mock)] {
        let (requests, sums) = llm_usage(upstream);
        assert!(requests > 0, "{provider} made no request");
        let row = by_provider
            .iter()
            .find(|row| row["provider"] == provider)
            .unwrap_or_else(|| panic!("no {provider} in {by_provider:?}"));
        assert_eq!(row["requests"], requests, "{row}");
        for (figure, sum) in usage::FIGURES.iter().zip(sums) {
            assert_eq!(row[figure], sum, "{figure} of {row}");
        }
    }
    let by_agent = usage_by(&sandbox, "agent");
    assert_eq!(by_agent.len(), 1, "{by_agent:?}");
    assert_eq!(by_agent[0]["agent"], "opencode", "{by_agent:?}");
    let by_model = usage_by(&sandbox, "model");
    assert_eq!(by_model.len(), 1, "{by_model:?}");
    assert_eq!(by_model[0]["model"], "mock-model", "{by_model:?}");
    assert_eq!(
        usage_by(&sandbox, "run").len(),
        2,
        "one run id per wrap run"
    );

    let before = usage_by(&sandbox, "agent")[0]["requests"].clone();
    let output = sandbox.run_headroom(
        &[
            &["wrap", "opencode", "--no-ledger", "--only", "othercompat"][..],
            &[
                "--",
                "run",
                "--title",
                "t",
                "--model",
                "othercompat/mock-model",
                "say hi",
            ],
        ]
        .concat(),
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(usage_by(&sandbox, "agent")[0]["requests"], before);
}

/// The LLM requests `mock` saw with `header: value` (each provider of the
/// sandbox has a key of its own): their count and the sums of the figures
/// its answers reported, in `usage::read_at`'s order.
fn llm_usage_of(mock: &MockUpstream, header: &str, value: &str) -> (u64, [u64; 5]) {
    let mut sums = [0; 5];
    let mut requests = 0;
    for request in mock.requests() {
        if request.method != http::Method::POST
            || headroom::usage::Family::for_path(&request.target).is_none()
            || request.header(header) != Some(value)
        {
            continue;
        }
        requests += 1;
        for (sum, figure) in sums.iter_mut().zip(usage::read_at(&request.target)) {
            *sum += figure.unwrap_or(0);
        }
    }
    (requests, sums)
}

/// The cells of the exit summary's line for `provider`: provider, model,
/// requests, input, cached share, output, cost, errors.
fn summary_cells(stderr: &str, provider: &str) -> Vec<String> {
    let header = stderr
        .lines()
        .position(|line| line.starts_with("  PROVIDER"))
        .unwrap_or_else(|| panic!("no summary table: {stderr}"));
    let line = stderr
        .lines()
        .skip(header + 1)
        .find(|line| line.split_whitespace().next() == Some(provider))
        .unwrap_or_else(|| panic!("no summary line for {provider}: {stderr}"));
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
#[cfg_attr(
    opencode_missing,
    ignore = "opencode 1.18.33 is not installed in target/test-deps: see the README's test command"
)]
fn each_request_counts_under_the_provider_it_names_in_the_ledger_and_the_summary() {
    let mock = MockUpstream::start();
    let sandbox = sandbox();
    // Every provider is routed, all to the one mock: by origin, a request
    // could only be counted under all of them at once.
    sandbox.write_project_config(&config_for(&mock));
    let cases = [
        ("prefixed", "authorization", "Bearer sk-prefixed-KEY"),
        ("openai", "authorization", "Bearer sk-openai-KEY"),
        ("anthropic", "x-api-key", "ant-KEY"),
    ];
    let mut stderrs = Vec::new();
    for (provider, _, _) in cases {
        let output = run_model(&sandbox, &format!("{provider}/mock-model"));
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{provider}: {stderr}");
        stderrs.push(stderr);
    }
    assert_no_control_headers(&mock);

    let by_provider = usage_by(&sandbox, "provider");
    assert_eq!(by_provider.len(), cases.len(), "{by_provider:?}");
    for ((provider, header, key), stderr) in cases.iter().zip(&stderrs) {
        let (requests, sums) = llm_usage_of(&mock, header, key);
        assert!(requests > 0, "{provider} made no request");
        let row = by_provider
            .iter()
            .find(|row| row["provider"] == *provider)
            .unwrap_or_else(|| panic!("no {provider} in {by_provider:?}"));
        assert_eq!(row["requests"], requests, "{row}");
        for (figure, sum) in usage::FIGURES.iter().zip(sums) {
            assert_eq!(row[figure], sum, "{figure} of {row}");
        }
        let [input, cache_read, _, output, _] = sums;
        let share = (cache_read as f64 / input as f64 * 100.0).round();
        assert_eq!(
            summary_cells(stderr, provider),
            [
                provider.to_string(),
                "mock-model".into(),
                requests.to_string(),
                input.to_string(),
                format!("{share}%"),
                output.to_string(),
                // The mock's model has no price.
                "-+".into(),
                "0".into(),
            ],
            "{stderr}"
        );
        let total = summary_cells(stderr, "total");
        assert_eq!(
            total[1..3],
            [requests.to_string(), input.to_string()],
            "{stderr}"
        );
    }
    let by_model = usage_by(&sandbox, "model");
    assert_eq!(by_model.len(), 1, "{by_model:?}");
    assert_eq!(by_model[0]["model"], "mock-model", "{by_model:?}");
}
