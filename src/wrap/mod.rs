//! Launch an agent through an in-process proxy: start the proxy, let the
//! agent's module prepare the child's environment, run the child, tear
//! everything down, and exit with the child's code.

pub mod child;
pub mod opencode;
mod report;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::OpencodeArgs;
use crate::error::UsageError;
use crate::logging;
use crate::proxy::{self, Config};
use crate::record;
pub use child::AgentNotFound;
use opencode::{Environment, Plan, Selection};

/// The hosts the child must reach directly, whatever proxy it is told to use.
const LOOPBACK_HOSTS: &str = "127.0.0.1,localhost";

/// `headroom wrap opencode`: returns the exit code headroom should exit with.
pub fn opencode_main(args: OpencodeArgs) -> anyhow::Result<u8> {
    let env = Environment::from_process()?;
    let config = opencode::load(&env).map_err(|e| UsageError::new(e.to_string()))?;
    let selection = Selection {
        only: args.only.clone(),
        skip: args.skip.clone(),
    };
    selection
        .check(&config, &env)
        .map_err(|e| UsageError::new(e.to_string()))?;
    if args.dry_run {
        let origin = match args.port {
            0 => "http://127.0.0.1:PORT".to_string(),
            port => format!("http://127.0.0.1:{port}"),
        };
        let plan = opencode::plan(&config, &env, &origin, &selection);
        report::dry_run(&plan, args.json)?;
        return Ok(0);
    }
    let binary = find_opencode(args.opencode_bin.as_deref(), &env)?;
    let log_file = args
        .log_file
        .clone()
        .unwrap_or_else(|| default_log_file(&env));
    logging::init_file(logging::filter(Some(&args.log_level))?, &log_file)?;
    for managed in opencode::managed_configs(&env) {
        eprintln!(
            "headroom: warning: {} is a managed opencode config and may override headroom's routing",
            managed.display()
        );
    }
    let providers = record::ProviderIds::default();
    let ledger = record::open_ledger(args.no_ledger);
    let tally = Arc::new(record::RunTally::default());
    // The summary prices each request as it ends: the catalog is parsed
    // now, while opencode starts, not on the first request's path.
    std::thread::spawn(crate::usage::prices::catalog);
    crate::runtime()?.block_on(async {
        let proxy_config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], args.port)),
            connect_timeout: args.timeouts.connect_timeout,
            idle_timeout: args.timeouts.idle_timeout,
            ..Config::loopback_ephemeral()
        };
        let stages = record::stages(
            ledger.as_ref(),
            Some(tally.clone()),
            "opencode",
            providers.clone(),
        );
        let proxy = proxy::start_with(proxy_config, stages).await?;
        let origin = format!("http://{}", proxy.local_addr());
        let plan = opencode::plan(&config, &env, &origin, &selection);
        // Set once, here, before opencode can send a request.
        let _ = providers.set(report::provider_ids_by_origin(&plan.routed));
        tracing::info!(
            proxy = %origin,
            routed = plan.routed.len(),
            left_alone = plan.left_alone.len(),
            "starting opencode"
        );
        if plan.routed.is_empty() {
            eprintln!(
                "headroom: warning: no provider is routed through headroom, so opencode talks to its providers directly (--dry-run says why each is left alone)"
            );
        }
        let command = opencode_command(&binary, &args.args, &env, &plan)?;
        let status = child::run(command).await;
        let stats = proxy.stats();
        proxy.shutdown().await;
        record::flush(ledger.as_ref());
        let status = status.map_err(|e| spawn_error(e, &binary))?;
        if !args.quiet {
            report::summary(&stats, &tally.lines(), &log_file);
        }
        Ok(child::exit_code(status))
    })
}

/// `--opencode-bin`, else `HEADROOM_OPENCODE_BIN` (clap fills both into
/// the flag), else `opencode` on PATH.
fn find_opencode(flag: Option<&Path>, env: &Environment) -> anyhow::Result<PathBuf> {
    let not_found = |what: String| {
        AgentNotFound(format!(
            "{what}: install opencode (npm install -g opencode-ai), or name it with --opencode-bin PATH or HEADROOM_OPENCODE_BIN"
        ))
    };
    if let Some(path) = flag {
        return which::which(path).map_err(|_| {
            let problem = if path.exists() {
                "is not an executable file"
            } else {
                "does not exist"
            };
            not_found(format!("opencode at {} {problem}", path.display())).into()
        });
    }
    let search_path = env.var("PATH").unwrap_or_default();
    which::which_in("opencode", Some(search_path), &env.cwd)
        .map_err(|_| not_found("opencode not found on PATH".to_string()).into())
}

fn opencode_command(
    binary: &Path,
    args: &[OsString],
    env: &Environment,
    plan: &Plan,
) -> anyhow::Result<tokio::process::Command> {
    let existing = env.var(opencode::CONTENT_VAR);
    let content = opencode::config_content(existing, &plan.overlay)
        .map_err(|e| UsageError::new(e.to_string()))?;
    let mut command = tokio::process::Command::new(binary);
    command
        .args(args)
        .current_dir(&env.cwd)
        // opencode finds its project from $PWD, not from its working directory.
        .env("PWD", &env.cwd)
        .env(opencode::CONTENT_VAR, content);
    for name in ["NO_PROXY", "no_proxy"] {
        command.env(name, with_loopback(env.var(name)));
    }
    Ok(command)
}

fn with_loopback(no_proxy: Option<&str>) -> String {
    match no_proxy.map(str::trim).filter(|v| !v.is_empty()) {
        Some(existing) => format!("{existing},{LOOPBACK_HOSTS}"),
        None => LOOPBACK_HOSTS.to_string(),
    }
}

fn spawn_error(error: anyhow::Error, binary: &Path) -> anyhow::Error {
    let not_found = error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    if not_found {
        return AgentNotFound(format!("could not start {}: not found", binary.display())).into();
    }
    error.context(format!("could not start {}", binary.display()))
}

/// `$XDG_STATE_HOME/headroom/wrap-opencode.log`, XDG's default otherwise.
fn default_log_file(env: &Environment) -> PathBuf {
    env.xdg_dir("XDG_STATE_HOME", ".local/state")
        .join("headroom")
        .join("wrap-opencode.log")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_added_to_no_proxy() {
        assert_eq!(with_loopback(None), "127.0.0.1,localhost");
        assert_eq!(with_loopback(Some(" ")), "127.0.0.1,localhost");
        assert_eq!(
            with_loopback(Some("corp.internal")),
            "corp.internal,127.0.0.1,localhost"
        );
    }
}
