//! Launch an agent through an in-process proxy: read the user's setup, start
//! the proxy, let the agent's module say what the child gets, run the child,
//! tear everything down, and exit with the child's code.
//!
//! Everything here is shared by every agent; what is specific to one agent
//! is in its module, behind [`agent::AgentSpec`] and [`agent::Setup`].

pub mod agent;
mod aider;
mod binary;
pub mod child;
mod claude;
mod codex;
mod command;
mod dotenv;
pub mod environment;
mod gemini;
mod kilo;
mod list;
pub(crate) mod mask;
pub mod opencode;
mod private_dir;
mod qwen;
mod registry;
mod report;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::AgentRun;
use crate::compress;
use crate::error::UsageError;
use crate::logging;

use crate::proxy::upstream::Upstream;
use crate::proxy::{self, Config, Defaults};
use crate::record;
use agent::{AgentSpec, Context, Launch, Setup};
pub use child::AgentNotFound;
pub use environment::Environment;
pub use list::list;
use private_dir::RunDir;

/// `headroom wrap <agent>`: returns the exit code headroom should exit with.
pub fn run(run: AgentRun) -> anyhow::Result<u8> {
    let spec = registry::find(run.agent)
        .ok_or_else(|| UsageError::new(format!("no agent named {}", run.agent)))?;
    let flag = format!("--{}-bin", spec.name);
    let bin_var = run.options.from_env.var_for(&flag).map(str::to_owned);
    launch(spec, run).map_err(|error| {
        // The binary named by a variable the user may have forgotten: say
        // which one.
        match bin_var {
            Some(var) if error.is::<AgentNotFound>() => error.context(var),
            _ => error,
        }
    })
}

fn launch(spec: &AgentSpec, run: AgentRun) -> anyhow::Result<u8> {
    let env = Environment::from_process()?;
    let compression = compress::Settings::from_args(&run.options.compress);
    let context = Context {
        env: &env,
        only: &run.only,
        skip: &run.skip,
        args: &run.args,
        spill_dir: (compression.level != compress::Level::Off).then_some(&*compression.spill_dir),
    };
    let setup = (spec.read_setup)(&context)?;
    let options = &run.options;
    if options.dry_run {
        return dry_run(spec, &run, &env, setup.as_ref());
    }
    let unrouted = match setup.unroutable() {
        Some(why) if !options.allow_unrouted => {
            return Err(UsageError::new(format!(
                "{why}; run {} without headroom, or pass --allow-unrouted to launch it unrouted",
                spec.binary
            ))
            .into())
        }
        other => other,
    };
    let binary = binary::find(spec, run.bin.as_deref(), &env)?;
    let log_file = options
        .log_file
        .clone()
        .unwrap_or_else(|| default_log_file(&env, spec));
    let filter = logging::filter(Some(&options.log_level))?;
    logging::init_file(filter, options.log_format, &log_file)?;
    for warning in setup.warnings() {
        eprintln!("headroom: warning: {warning}");
    }
    if let Some(why) = unrouted {
        eprintln!(
            "headroom: warning: {why}; launching {} unrouted, as --allow-unrouted asks",
            spec.binary
        );
        return launch_unrouted(&binary, &run, &env);
    }
    if let Some(warning) = compression.check_spill_dir()? {
        eprintln!("headroom: warning: {warning}");
    }
    private_dir::remove_stale(&private_dir::base(&env));
    let proxied = ProxiedRun {
        spec,
        run: &run,
        env: &env,
        setup: setup.as_ref(),
        binary: &binary,
        log_file: &log_file,
        compression: &compression,
    };
    proxied.run()
}

/// A run through the proxy, once everything it needs is known.
struct ProxiedRun<'a> {
    spec: &'a AgentSpec,
    run: &'a AgentRun,
    env: &'a Environment,
    setup: &'a dyn Setup,
    binary: &'a Path,
    log_file: &'a Path,
    compression: &'a compress::Settings,
}

impl ProxiedRun<'_> {
    /// Starts the proxy, then the agent; stops the proxy when the agent
    /// exits, and gives the agent's exit code.
    fn run(&self) -> anyhow::Result<u8> {
        let ProxiedRun {
            spec,
            run,
            env,
            setup,
            binary,
            log_file,
            compression,
        } = *self;
        let options = &run.options;
        let providers = record::ProviderIds::default();
        let ledger = record::open_ledger(options.no_ledger);
        let tally = Arc::new(record::RunTally::default());
        // The summary prices each request as it ends: the catalog is parsed
        // now, while the agent starts, not on the first request's path.
        std::thread::spawn(crate::usage::prices::catalog);
        crate::runtime()?.block_on(async {
            let proxy_config = Config {
                listen: SocketAddr::from(([127, 0, 0, 1], options.port)),
                connect_timeout: options.timeouts.connect_timeout,
                idle_timeout: options.timeouts.idle_timeout,
                defaults: defaults(setup),
                ..Config::loopback_ephemeral()
            };
            let stages = record::stages(
                ledger.as_ref(),
                Some(tally.clone()),
                spec.name,
                providers.clone(),
            );
            let stages = compress::install(stages, compression);
            let proxy = proxy::start_with(proxy_config, stages).await?;
            let origin = format!("http://{}", proxy.local_addr());
            let dir = private_dir::reserve(env);
            let prepared = prepare(setup, &origin, &dir);
            let (launch, _run_dir) = match prepared {
                Ok(prepared) => prepared,
                Err(error) => {
                    proxy.shutdown().await;
                    return Err(error);
                }
            };
            // Set once, here, before the agent can send a request.
            let _ = providers.set(report::provider_ids_by_origin(&launch.routed));
            tracing::info!(
                proxy = %origin,
                routed = launch.routed.len(),
                left_alone = launch.left_alone.len(),
                "starting {}",
                spec.name
            );
            if launch.routed.is_empty() {
                eprintln!(
                    "headroom: warning: no provider is routed through headroom, so {} talks to its providers directly (--dry-run says why each is left alone)",
                    spec.binary
                );
            }
            // The log, where the catalog says so too, is not on the screen.
            if let Some(problem) = crate::usage::prices::user_file_problem() {
                eprintln!("headroom: warning: {problem}");
            }
            let command = command::build(binary, &run.args, env, &launch);
            let status = child::run(command).await;
            let stats = proxy.stats();
            proxy.shutdown().await;
            record::flush(ledger.as_ref());
            let status = status.map_err(|e| spawn_error(e, binary))?;
            if !options.quiet {
                report::summary(&stats, &tally.lines(), log_file);
            }
            Ok(child::exit_code(status))
        })
    }
}

/// The proxy's upstream for requests without a header, per family: the
/// agent's own when it names one, else that family's public API.
fn defaults(setup: &dyn Setup) -> Defaults {
    let [openai, anthropic, gemini] = setup.family_upstreams();
    let public = Defaults::public();
    let own = |raw: Option<String>, public: Upstream| {
        raw.and_then(|raw| Upstream::parse(&raw).ok())
            .unwrap_or(public)
    };
    Defaults {
        openai: own(openai, public.openai),
        anthropic: own(anthropic, public.anthropic),
        gemini: own(gemini, public.gemini),
    }
}

/// The agent's launch, with its overlay files written into `dir` when it
/// has any; the directory goes when the returned guard is dropped.
fn prepare(
    setup: &dyn Setup,
    origin: &str,
    dir: &Path,
) -> anyhow::Result<(Launch, Option<RunDir>)> {
    let launch = setup.launch(origin, dir)?;
    let run_dir = if launch.files.is_empty() {
        None
    } else {
        Some(RunDir::create(dir, &launch.files)?)
    };
    Ok((launch, run_dir))
}

fn dry_run(
    spec: &AgentSpec,
    run: &AgentRun,
    env: &Environment,
    setup: &dyn Setup,
) -> anyhow::Result<u8> {
    let origin = match run.options.port {
        0 => "http://127.0.0.1:PORT".to_string(),
        port => format!("http://127.0.0.1:{port}"),
    };
    let dir = private_dir::base(env).join("wrap-RUN");
    let unroutable = setup.unroutable();
    // A setup that cannot be routed is launched, if at all, with nothing
    // of headroom's (`--allow-unrouted`): the plan shows that launch.
    let launch = match unroutable {
        Some(_) => Launch::default(),
        None => setup.launch(&origin, &dir)?,
    };
    let binary =
        binary::find(spec, run.bin.as_deref(), env).unwrap_or_else(|_| PathBuf::from(spec.binary));
    let every_childs_env = command::every_childs_env(env);
    let plan = report::DryRun {
        agent: spec.name,
        unroutable,
        binary: &binary,
        user_args: &run.args,
        dir: &dir,
        launch: &launch,
        every_childs_env: &every_childs_env,
    };
    report::dry_run(&plan, run.options.json)?;
    Ok(0)
}

/// The agent as the user would run it without headroom.
fn launch_unrouted(binary: &Path, run: &AgentRun, env: &Environment) -> anyhow::Result<u8> {
    crate::runtime()?.block_on(async {
        let command = command::build(binary, &run.args, env, &Launch::default());
        let status = child::run(command)
            .await
            .map_err(|e| spawn_error(e, binary))?;
        Ok(child::exit_code(status))
    })
}

fn spawn_error(error: anyhow::Error, binary: &Path) -> anyhow::Error {
    let not_found = error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    if not_found {
        // exec says "not found" also for a script whose interpreter is
        // missing, though the script is there.
        let what = if binary.is_file() {
            "its interpreter (the program its #! line names, or an ELF loader) was not found"
        } else {
            "not found"
        };
        return AgentNotFound(format!("could not start {}: {what}", binary.display())).into();
    }
    error.context(format!("could not start {}", binary.display()))
}

/// `$XDG_STATE_HOME/headroom/wrap-<agent>.log`, XDG's default otherwise.
fn default_log_file(env: &Environment, spec: &AgentSpec) -> PathBuf {
    env.xdg_dir("XDG_STATE_HOME", ".local/state")
        .join("headroom")
        .join(format!("wrap-{}.log", spec.name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// An agent that names an upstream for one family, and a bad one for
    /// another.
    struct ByFamily;

    impl Setup for ByFamily {
        fn family_upstreams(&self) -> [Option<String>; 3] {
            [
                None,
                Some("https://gw.dev/anthropic".into()),
                Some("not a url".into()),
            ]
        }

        fn launch(&self, _: &str, _: &Path) -> anyhow::Result<Launch> {
            Ok(Launch::default())
        }
    }

    #[test]
    fn each_family_defaults_to_the_agents_upstream_else_the_public_api() {
        let defaults = defaults(&ByFamily);
        let public = Defaults::public();
        assert_eq!(defaults.openai.base(), public.openai.base());
        assert_eq!(defaults.anthropic.base(), "https://gw.dev/anthropic");
        assert_eq!(defaults.gemini.base(), public.gemini.base());
    }
}
