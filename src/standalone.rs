//! `headroom proxy`: run the proxy in the foreground until Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use crate::cli::ProxyArgs;
use crate::compress;
use crate::error::UsageError;
use crate::logging;
use crate::proxy::upstream::{Origin, Upstream};
use crate::proxy::{self, Allowed, Config, Defaults};
use crate::record;

pub async fn run(args: ProxyArgs) -> anyhow::Result<()> {
    let config = config(&args)?;
    let compression = compress::Settings::from_args(&args.compress);
    if let Some(warning) = compression.check_spill_dir()? {
        tracing::warn!("{warning}");
    }
    let ledger = record::open_ledger(args.no_ledger);
    let stages = record::stages(ledger.as_ref(), None, "proxy", Default::default());
    let stages = compress::install(stages, &compression);
    let proxy = proxy::start_with(config, stages).await?;
    // Scripts and tests read the real address from this line.
    let listening = logging::listening_line(args.log.log_format, proxy.local_addr());
    eprintln!("{listening}");
    wait_for_shutdown_signal().await?;
    tracing::info!("shutting down");
    proxy.shutdown().await;
    record::flush(ledger.as_ref());
    Ok(())
}

fn config(args: &ProxyArgs) -> anyhow::Result<Config> {
    let allowed = if args.allow_any_upstream {
        Allowed::Any
    } else if args.allow_upstream.is_empty() {
        Allowed::Unspecified
    } else {
        Allowed::Only(
            args.allow_upstream
                .iter()
                .map(|raw| {
                    Origin::parse(raw)
                        .map_err(|e| UsageError::new(format!("--allow-upstream {raw} {e}")))
                })
                .collect::<Result<_, _>>()?,
        )
    };
    Ok(Config {
        listen: SocketAddr::new(args.host, args.port),
        defaults: Defaults {
            openai: default_upstream(
                args.from_env.name("--openai-upstream"),
                &args.openai_upstream,
            )?,
            anthropic: default_upstream(
                args.from_env.name("--anthropic-upstream"),
                &args.anthropic_upstream,
            )?,
            gemini: default_upstream(
                args.from_env.name("--gemini-upstream"),
                &args.gemini_upstream,
            )?,
        },
        allowed,
        connect_timeout: args.timeouts.connect_timeout,
        idle_timeout: args.timeouts.idle_timeout,
        // Clients beyond loopback must not hold connections open by
        // trickling their request heads.
        head_timeout: (!proxy::is_loopback(args.host)).then_some(proxy::HEADER_READ_TIMEOUT),
        ..Config::loopback_ephemeral()
    })
}

/// `source` is the flag or the environment variable the value came from.
fn default_upstream(source: &str, raw: &str) -> Result<Upstream, UsageError> {
    let upstream = Upstream::parse(raw).map_err(|e| UsageError::new(format!("{source} {e}")))?;
    // Refused as the header is: every request would repeat the endpoint.
    match upstream.llm_endpoint() {
        Some(endpoint) => Err(UsageError::new(format!(
            "{source} is a full endpoint URL (it ends with {endpoint}); give the base URL the request's path is appended to, such as https://api.openai.com/v1"
        ))),
        None => Ok(upstream),
    }
}

async fn wait_for_shutdown_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    Ok(())
}
