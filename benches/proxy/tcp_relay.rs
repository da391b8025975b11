//! The floor under any proxy built on tokio: a TCP relay that gives each
//! client connection an upstream connection of its own and copies bytes
//! both ways, with no HTTP in between. Against it, the bench separates what
//! the runtime costs from what the HTTP layers on top of it cost.
//!
//! It runs as this bench's own executable in a child process, started with
//! `ROLE_VAR` set, so that it is pinned and measured like the proxies.

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpStream};

/// `LISTEN,UPSTREAM`: set on the child that serves as the relay.
const ROLE_VAR: &str = "HEADROOM_BENCH_TCP_RELAY";

/// The relay's command line for `upstream`, to be served on `listen`; run
/// it through `wrap` (the pinning) when that is given.
pub fn command(
    listen: SocketAddr,
    upstream: SocketAddr,
    wrap: impl FnOnce(&std::ffi::OsStr) -> Command,
) -> anyhow::Result<Command> {
    let this = std::env::current_exe().context("this bench's own path")?;
    let mut command = wrap(this.as_os_str());
    command
        .env(ROLE_VAR, format!("{listen},{upstream}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    Ok(command)
}

/// Serves as the relay, until killed, when this process was started as one.
pub fn serve_if_asked() -> Option<anyhow::Result<()>> {
    let role = std::env::var(ROLE_VAR).ok()?;
    Some(serve(&role))
}

fn serve(role: &str) -> anyhow::Result<()> {
    let (listen, upstream) = role.split_once(',').context("LISTEN,UPSTREAM")?;
    let listen: SocketAddr = listen.parse()?;
    let upstream: SocketAddr = upstream.parse()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(listen).await?;
        loop {
            let (client, _) = listener.accept().await?;
            tokio::spawn(relay(client, upstream));
        }
    })
}

async fn relay(mut client: TcpStream, upstream: SocketAddr) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    for stream in [&client, &server] {
        let _ = stream.set_nodelay(true);
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
