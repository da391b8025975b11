//! Idle upstream connections, per upstream host and port. A connection is
//! handed out only if the upstream has not closed it meanwhile; a sweep
//! closes the ones left unused too long, or closed by the upstream.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Waker};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::proxy::lock;

/// How long an idle connection is kept.
const IDLE_LIFETIME: Duration = Duration::from_secs(90);
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Idle connections kept per upstream; more are closed when released.
const MAX_IDLE_PER_KEY: usize = 128;

/// An upstream's `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey(String);

impl PoolKey {
    pub fn of(uri: &http::Uri) -> Option<PoolKey> {
        let host = uri.host()?;
        let port = uri.port_u16().unwrap_or(80);
        Some(PoolKey(format!("{host}:{port}")))
    }

    /// The address to connect to, as a URI.
    pub fn uri(&self) -> http::Uri {
        http::Uri::try_from(format!("http://{}/", self.0)).unwrap_or_default()
    }
}

struct Idle {
    io: TcpStream,
    since: Instant,
}

impl Idle {
    /// Still open and silent: an idle connection that has data to read or
    /// has reached its end cannot carry a request.
    fn usable(&self) -> bool {
        if self.since.elapsed() >= IDLE_LIFETIME {
            return false;
        }
        // No readiness since the last read means nothing arrived, not even
        // the end; only when there was some does a read need asking.
        let mut cx = Context::from_waker(Waker::noop());
        if self.io.poll_read_ready(&mut cx).is_pending() {
            return true;
        }
        let mut probe = [0u8; 1];
        matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<PoolKey, Vec<Idle>>>,
}

impl Pool {
    /// A pool with its sweep running; the sweep ends with the pool.
    pub fn start() -> Arc<Pool> {
        let pool = Arc::new(Pool::default());
        tokio::spawn(sweep(Arc::downgrade(&pool)));
        pool
    }

    /// The most recently released usable connection to `key`.
    pub fn checkout(&self, key: &PoolKey) -> Option<TcpStream> {
        let mut idle = lock(&self.idle);
        let list = idle.get_mut(key)?;
        while let Some(candidate) = list.pop() {
            if candidate.usable() {
                return Some(candidate.io);
            }
        }
        None
    }

    pub fn put(&self, key: &PoolKey, io: TcpStream) {
        let released = Idle {
            io,
            since: Instant::now(),
        };
        let mut idle = lock(&self.idle);
        // Looked up by reference: only a key's first release clones it.
        match idle.get_mut(key) {
            Some(list) if list.len() < MAX_IDLE_PER_KEY => list.push(released),
            Some(_) => {}
            None => {
                idle.insert(key.clone(), vec![released]);
            }
        }
    }

    fn sweep_once(&self) {
        let mut idle = lock(&self.idle);
        idle.retain(|_, list| {
            list.retain(Idle::usable);
            !list.is_empty()
        });
    }
}

async fn sweep(pool: Weak<Pool>) {
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(pool) = pool.upgrade() else {
            return;
        };
        pool.sweep_once();
    }
}
