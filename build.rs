//! Finds the opencode binary the end-to-end tests drive, so that a test
//! without it shows as ignored (libtest has no skip at run time) instead of
//! passing. The tests read the path from `HEADROOM_TEST_OPENCODE_BIN`; when
//! there is none and the e2e tests are not required, `opencode_missing` is
//! set and each e2e test is `#[cfg_attr(opencode_missing, ignore = ...)]`.

use std::path::{Path, PathBuf};

/// Where the README's test command and `.ci/run` install opencode.
const TEST_DEPS: &str = "target/test-deps";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(opencode_missing)");
    println!("cargo::rerun-if-changed=build.rs");
    for var in ["HEADROOM_TEST_OPENCODE", "HEADROOM_E2E", "CI"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let deps = manifest_dir.join(TEST_DEPS);
    let candidates = match std::env::var_os("HEADROOM_TEST_OPENCODE") {
        Some(path) if !path.is_empty() => vec![PathBuf::from(path)],
        _ => platform_packages()
            .iter()
            .map(|package| deps.join("node_modules").join(package).join("bin/opencode"))
            .collect(),
    };
    watch(&candidates, &deps);
    match candidates.iter().find(|path| path.is_file()) {
        Some(found) => println!(
            "cargo::rustc-env=HEADROOM_TEST_OPENCODE_BIN={}",
            found.display()
        ),
        // Required: the tests run, and fail naming what is missing.
        None if required() => {}
        None => println!("cargo::rustc-cfg=opencode_missing"),
    }
    let expected = candidates.first().map_or(deps.clone(), PathBuf::clone);
    println!(
        "cargo::rustc-env=HEADROOM_TEST_OPENCODE_EXPECTED={}",
        expected.display()
    );
}

/// `CI` or `HEADROOM_E2E` set (non-empty): a missing opencode is a failure.
fn required() -> bool {
    ["CI", "HEADROOM_E2E"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
}

/// opencode-ai's platform packages for the target, best first, chosen as
/// its own postinstall chooses them: musl builds first on a musl target,
/// the `baseline` (no AVX2) build first on an x64 CPU without AVX2.
fn platform_packages() -> Vec<String> {
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
    let base = format!("opencode-{os}-{arch}");
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

/// Reruns this script when opencode is installed or removed. Cargo reruns
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
