//! Finds the agent binaries the end-to-end tests drive, so that a test
//! without its agent shows as ignored (libtest has no skip at run time)
//! instead of passing. For each agent the tests read the path from
//! `HEADROOM_TEST_<AGENT>_BIN`; when there is none and the e2e tests are
//! not required, `<agent>_missing` is set and each of that agent's e2e
//! tests is `#[cfg_attr(<agent>_missing, ignore = ...)]`.

use std::path::{Path, PathBuf};

/// Where the README's test command and `.ci/run` install the agents.
const TEST_DEPS: &str = "target/test-deps";

/// An agent the e2e tests drive: its name (`HEADROOM_TEST_<NAME>` names a
/// binary by hand) and where npm puts it under test-deps, best first.
struct TestAgent {
    name: &'static str,
    candidates: fn() -> Vec<String>,
}

const AGENTS: [TestAgent; 8] = [
    TestAgent {
        name: "opencode",
        candidates: || {
            platform_packages("opencode")
                .iter()
                .map(|package| format!("{package}/bin/opencode"))
                .collect()
        },
    },
    TestAgent {
        // The native binary of the platform's package, which the main
        // package's install.cjs would copy over its placeholder.
        name: "claude",
        candidates: || {
            let (os, arch) = os_arch();
            let base = format!("@anthropic-ai/claude-code-{os}-{arch}");
            vec![format!("{base}/claude"), format!("{base}-musl/claude")]
        },
    },
    TestAgent {
        // The native binary that the package's bin/codex.js starts.
        name: "codex",
        candidates: || {
            let (os, arch) = os_arch();
            let triple = match arch.as_str() {
                "arm64" => "aarch64-unknown-linux-musl",
                _ => "x86_64-unknown-linux-musl",
            };
            vec![format!(
                "@openai/codex-{os}-{arch}/vendor/{triple}/bin/codex"
            )]
        },
    },
    TestAgent {
        // A Python venv of its own, not an npm package: the candidate is
        // absolute, which `find` keeps as it is.
        name: "aider",
        candidates: || {
            let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
            vec![format!("{manifest_dir}/{TEST_DEPS}/aider/bin/aider")]
        },
    },
    TestAgent {
        name: "qwen",
        candidates: || vec!["@qwen-code/qwen-code/cli-entry.js".into()],
    },
    TestAgent {
        // Qwen Code needs Node 22; npm's node-<os>-<arch> package has it.
        name: "node22",
        candidates: || {
            let (os, arch) = os_arch();
            vec![format!("node-{os}-{arch}/bin/node")]
        },
    },
    TestAgent {
        name: "kilo",
        candidates: || {
            platform_packages("@kilocode/cli")
                .iter()
                .map(|package| format!("{package}/bin/kilo"))
                .collect()
        },
    },
    TestAgent {
        // A Node script (bundled, no platform package); needs Node 20.
        name: "gemini",
        candidates: || vec!["@google/gemini-cli/bundle/gemini.js".to_string()],
    },
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for var in ["HEADROOM_E2E", "CI"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let deps = manifest_dir.join(TEST_DEPS);
    for agent in &AGENTS {
        find(agent, &deps);
    }
    find_sessions(&manifest_dir);
}

/// The recorded sessions the compression replay test and benchmark read:
/// `HEADROOM_SESSIONS`, else `../shared/data/sessions` beside the checkout.
/// Missing (a checkout on its own), the replay test is ignored, saying why.
fn find_sessions(manifest_dir: &Path) {
    println!("cargo::rustc-check-cfg=cfg(sessions_missing)");
    println!("cargo::rerun-if-env-changed=HEADROOM_SESSIONS");
    let dir = match std::env::var_os("HEADROOM_SESSIONS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => manifest_dir.join("../shared/data/sessions"),
    };
    if dir.join("README.md").is_file() {
        println!("cargo::rerun-if-changed={}", dir.display());
    } else {
        println!("cargo::rustc-cfg=sessions_missing");
    }
    println!("cargo::rustc-env=HEADROOM_SESSIONS_DIR={}", dir.display());
}

fn find(agent: &TestAgent, deps: &Path) {
    let upper = agent.name.to_ascii_uppercase();
    let missing = format!("{}_missing", agent.name);
    println!("cargo::rustc-check-cfg=cfg({missing})");
    let by_hand = format!("HEADROOM_TEST_{upper}");
    println!("cargo::rerun-if-env-changed={by_hand}");
    let candidates: Vec<PathBuf> = match std::env::var_os(&by_hand) {
        Some(path) if !path.is_empty() => vec![PathBuf::from(path)],
        _ => (agent.candidates)()
            .iter()
            .map(|relative| deps.join("node_modules").join(relative))
            .collect(),
    };
    watch(&candidates, deps);
    match candidates.iter().find(|path| path.is_file()) {
        Some(found) => println!(
            "cargo::rustc-env=HEADROOM_TEST_{upper}_BIN={}",
            found.display()
        ),
        // Required: the tests run, and fail naming what is missing.
        None if required() => {}
        None => println!("cargo::rustc-cfg={missing}"),
    }
    let expected = candidates
        .first()
        .map_or(deps.to_path_buf(), PathBuf::clone);
    println!(
        "cargo::rustc-env=HEADROOM_TEST_{upper}_EXPECTED={}",
        expected.display()
    );
}

/// `CI` or `HEADROOM_E2E` set (non-empty): a missing agent is a failure.
fn required() -> bool {
    ["CI", "HEADROOM_E2E"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
}

/// The npm platform packages of a Bun-built agent (opencode, and Kilo, its
/// fork) for the target, best first, chosen as its own postinstall
/// chooses them: musl builds first on a musl target, the `baseline` (no
/// AVX2) build first on an x64 CPU without AVX2.
fn platform_packages(package: &str) -> Vec<String> {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let (os, arch) = os_arch();
    let base = format!("{package}-{os}-{arch}");
    let mut builds = vec![base.clone()];
    if arch == "x64" {
        let baseline = format!("{base}-baseline");
        if has_avx2() {
            builds.push(baseline);
        } else {
            builds.insert(0, baseline);
        }
    }
    if os != "linux" {
        return builds;
    }
    let musl: Vec<String> = builds.iter().map(|b| format!("{b}-musl")).collect();
    if var("CARGO_CFG_TARGET_ENV") == "musl" {
        [musl, builds].concat()
    } else {
        [builds, musl].concat()
    }
}

/// The target's OS and architecture as npm names them: `linux`, `x64`.
fn os_arch() -> (String, String) {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let os = match var("CARGO_CFG_TARGET_OS").as_str() {
        "macos" => "darwin".to_string(),
        other => other.to_string(),
    };
    let arch = match var("CARGO_CFG_TARGET_ARCH").as_str() {
        "x86_64" => "x64".to_string(),
        "aarch64" => "arm64".to_string(),
        other => other.to_string(),
    };
    (os, arch)
}

/// The build script runs on the machine that runs the tests.
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        true
    }
}

/// Reruns this script when an agent is installed or removed. Cargo reruns
/// a script on every build while a watched path is missing, so only paths
/// that exist are watched: the binary if present, else the test-deps
/// directory (created here, empty), whose contents npm changes.
fn watch(candidates: &[PathBuf], deps: &Path) {
    let watched: Vec<&PathBuf> = candidates.iter().filter(|p| p.exists()).collect();
    for path in &watched {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    if std::fs::create_dir_all(deps).is_ok() {
        println!("cargo::rerun-if-changed={}", deps.display());
    }
}
