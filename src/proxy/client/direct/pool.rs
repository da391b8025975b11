//! Idle upstream connections, per upstream origin. A connection is
//! handed out only if the upstream has not closed it meanwhile; a sweep
//! closes the ones left unused too long, or closed by the upstream.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Waker};
use std::time::Duration;

use tokio::time::Instant;

use super::Link;
use crate::proxy::clock;
use crate::proxy::lock::lock;
use crate::proxy::upstream::Origin;

/// How long an idle connection is kept: under the 5 s keep-alive timeout
/// of the servers most often behind a plain-HTTP base URL (Node, uvicorn
/// under vLLM or LiteLLM, llama.cpp's server, Apache), so that the proxy
/// does not reuse a connection just as they close it, which fails a POST
/// (`crate::proxy::replay`). Keeping one longer would save only a TCP
/// handshake with a nearby host. A server that closes sooner (gunicorn
/// after 2 s) is caught by `Idle::usable`, unless its close is still on
/// the wire.
const IDLE_LIFETIME: Duration = Duration::from_secs(4);
/// Closes unused connections about as soon as they can no longer be used.
const SWEEP_EVERY: Duration = IDLE_LIFETIME;
/// Idle connections kept per upstream; more are closed when released.
const MAX_IDLE_PER_ORIGIN: usize = 128;

struct Idle {
    link: Box<Link>,
    since: Instant,
}

impl Idle {
    /// Still open and silent: an idle connection that has data to read or
    /// has reached its end cannot carry a request.
    fn usable(&self) -> bool {
        if clock::since(self.since) >= IDLE_LIFETIME {
            return false;
        }
        // No readiness since the last read means nothing arrived, not even
        // the end; only when there was some does a read need asking.
        let mut cx = Context::from_waker(Waker::noop());
        let io = &self.link.io;
        if io.poll_read_ready(&mut cx).is_pending() {
            return true;
        }
        let mut probe = [0u8; 1];
        matches!(io.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

#[derive(Default)]
pub struct Pool {
    /// Ordered, not hashed: a handful of origins, looked up twice per request.
    idle: Mutex<BTreeMap<Origin, Vec<Idle>>>,
}

impl Pool {
    /// A pool with its sweep running; the sweep ends with the pool.
    pub fn start() -> Arc<Pool> {
        let pool = Arc::new(Pool::default());
        tokio::spawn(sweep(Arc::downgrade(&pool)));
        pool
    }

    /// The most recently released usable connection to `origin`. Writing
    /// the request touches its idle timer before anything waits on it, so
    /// the time spent here does not count as idle.
    pub fn checkout(&self, origin: &Origin) -> Option<Box<Link>> {
        let mut idle = lock(&self.idle);
        let list = idle.get_mut(origin)?;
        while let Some(candidate) = list.pop() {
            if candidate.usable() {
                return Some(candidate.link);
            }
        }
        None
    }

    pub fn put(&self, origin: &Origin, link: Box<Link>) {
        let released = Idle {
            link,
            since: clock::now(),
        };
        let mut idle = lock(&self.idle);
        // Looked up by reference: only an origin's first release clones it.
        match idle.get_mut(origin) {
            Some(list) if list.len() < MAX_IDLE_PER_ORIGIN => list.push(released),
            Some(_) => {}
            None => {
                idle.insert(origin.clone(), vec![released]);
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
