//! The handle the proxy records rows through, and the thread that writes
//! them. Recording never waits: a row goes into a bounded queue, or is
//! dropped and counted when the queue is full. A database that cannot be
//! opened or written costs the rows of that while and one warning in the
//! log; the requests go on, and the writer tries it again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{store, Row};
use crate::usage::prices::{self, Price};

/// Rows waiting for the writer. A burst larger than this while the disk
/// stalls loses rows rather than memory or time.
const QUEUE: usize = 8192;

/// Rows written in one transaction at most.
const BATCH: usize = 512;

/// How long the writer lets rows gather after the first of a batch arrives.
/// Under load this turns one wake-up and one commit per request into one
/// per batch; an agent's requests, seconds apart, reach the disk this much
/// later, which nobody sees.
const LINGER: Duration = Duration::from_millis(50);

/// Prices remembered at most, by model and provider, before starting over.
const PRICES_REMEMBERED: usize = 1024;

enum Message {
    Row(Box<Row>),
    /// Answered once every row queued before it has been handled.
    Flush(SyncSender<()>),
}

/// Where rows go. Cloning shares the one writer; it stops when the last
/// clone is dropped, after writing what was queued.
#[derive(Clone)]
pub struct Ledger {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    sender: SyncSender<Message>,
    dropped: AtomicU64,
    warned_full: AtomicBool,
}

impl Ledger {
    /// Starts the writer for the database at `path`. Always succeeds: while
    /// the file cannot be opened or written (locked, corrupt, unwritable),
    /// the writer logs why once and discards rows until it can.
    pub fn open(path: &Path) -> Ledger {
        let (sender, receiver) = mpsc::sync_channel(QUEUE);
        let path = path.to_path_buf();
        // Detached: at shutdown `flush` waits a bounded time for it, and
        // whatever it has not written by exit is lost with the process.
        let spawned = std::thread::Builder::new()
            .name("headroom-ledger".into())
            .spawn(move || write_rows(&path, receiver));
        if let Err(error) = spawned {
            tracing::warn!(%error, "usage ledger off: could not start its writer thread");
            return Ledger::off();
        }
        Ledger {
            shared: Some(Arc::new(Shared {
                sender,
                dropped: AtomicU64::new(0),
                warned_full: AtomicBool::new(false),
            })),
        }
    }

    /// A ledger that records nothing (`--no-ledger`).
    pub fn off() -> Ledger {
        Ledger { shared: None }
    }

    /// Hands `row` to the writer without waiting.
    pub fn record(&self, row: Row) {
        let Some(shared) = &self.shared else { return };
        match shared.sender.try_send(Message::Row(Box::new(row))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                if !shared.warned_full.swap(true, Ordering::Relaxed) {
                    tracing::warn!("usage ledger is behind; dropping rows until it catches up");
                }
            }
            // The writer gave up and said why already.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Rows dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared
            .as_ref()
            .map_or(0, |shared| shared.dropped.load(Ordering::Relaxed))
    }

    /// Waits at most `timeout` for every row recorded so far to be written
    /// (or given up); true when they were.
    pub fn flush(&self, timeout: Duration) -> bool {
        let Some(shared) = &self.shared else {
            return true;
        };
        let deadline = Instant::now() + timeout;
        let (ack, acked) = mpsc::sync_channel(1);
        let mut message = Message::Flush(ack);
        loop {
            match shared.sender.try_send(message) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return true,
                Err(TrySendError::Full(back)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    message = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        match acked.recv_timeout(remaining) {
            Ok(()) => true,
            // The writer stopped: nothing is left to wait for.
            Err(mpsc::RecvTimeoutError::Disconnected) => true,
            Err(mpsc::RecvTimeoutError::Timeout) => false,
        }
    }
}

/// The writer thread: batches what is queued into one transaction each.
/// Runs this thread under Linux's SCHED_IDLE, so that on a busy core the
/// proxy's event loop runs first and takes the core back the moment it
/// wakes: a batch of inserts must never delay a relayed event. Under the
/// lowest nice value alone the scheduler let a batch finish its slice
/// first, and a relayed burst's p99 read 2.7x nginx's in the bench. Where
/// SCHED_IDLE is refused, the lowest nice value, which on Linux is the
/// calling thread's own (elsewhere it would lower the whole proxy, so it
/// is left alone). A failure changes nothing but the order in which the
/// scheduler picks threads.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
            ThreadPriority, ThreadSchedulePolicy,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle).is_err() {
            let _ = rustix::process::setpriority_process(None, 19);
        }
    }
}

fn write_rows(path: &Path, receiver: Receiver<Message>) {
    yield_to_requests();
    // Parsing the catalog takes milliseconds: do it now, not when the
    // first row arrives.
    prices::catalog();
    let mut writer = Writer::new(path);
    // Opened now, as the proxy starts, not when the first row comes:
    // creating a new ledger's schema is a moment's work of its own.
    writer.open();
    let mut prices = PriceMemo::default();
    let mut rows = Vec::with_capacity(BATCH);
    let mut acks = Vec::new();
    while let Ok(first) = receiver.recv() {
        if matches!(first, Message::Row(_)) {
            std::thread::sleep(LINGER);
        }
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Row(mut row) => {
                    prices.price(&mut row);
                    rows.push(*row);
                }
                Message::Flush(ack) => acks.push(ack),
            }
            next = receiver.try_recv().ok();
            if next.is_none() || rows.len() == BATCH || !acks.is_empty() {
                writer.write(&rows);
                rows.clear();
                for ack in acks.drain(..) {
                    let _ = ack.send(());
                }
            }
        }
    }
}

/// The catalog's answers for the models seen so far: a lookup without a
/// known provider asks every maker in turn, and a session asks about the
/// same few models over and over.
#[derive(Default)]
struct PriceMemo {
    known: HashMap<PriceKey, Option<&'static Price>>,
    /// The latest answer, looked at first: it is found without hashing or
    /// building a key, and most rows in a row ask it again.
    latest: Option<(PriceKey, Option<&'static Price>)>,
}

/// A provider (if one seller is known) and a model.
type PriceKey = (Option<String>, String);

impl PriceMemo {
    /// Prices a row recorded without a cost. A provider list (`a,b`: one
    /// origin serving several) names no one seller, so the maker's price
    /// applies.
    fn price(&mut self, row: &mut Row) {
        if row.cost_usd.is_some() {
            return;
        }
        let Some(model) = row.usage.model.as_deref() else {
            return;
        };
        let provider = row.provider.as_deref().filter(|id| !id.contains(','));
        let price = match &self.latest {
            Some(((known_provider, known_model), price))
                if known_provider.as_deref() == provider && known_model == model =>
            {
                *price
            }
            _ => {
                let key = (provider.map(str::to_owned), model.to_owned());
                if !self.known.contains_key(&key) && self.known.len() == PRICES_REMEMBERED {
                    self.known.clear();
                }
                let price = *self
                    .known
                    .entry(key.clone())
                    .or_insert_with(|| prices::catalog().price(model, provider));
                self.latest = Some((key, price));
                price
            }
        };
        if let Some(price) = price {
            row.price_at(price);
        }
    }
}

/// How long after a failure to open or write the database the writer
/// tries it again, when rows come. Each try costs an open on the writer's
/// own thread; the rows in between are lost, as they would be for good
/// if the writer gave up.
pub(super) const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The database as the writer holds it: opened when the first batch
/// comes, and opened again after any failure, so that a lock held at
/// start, a full disk or a file replaced under it costs the rows of that
/// while, not the rest of the process's.
struct Writer {
    path: PathBuf,
    connection: Option<Connection>,
    retry_at: Instant,
    /// Rows lost since the last batch written, told when one is again.
    lost: u64,
    /// This spell of failures was told already.
    warned: bool,
}

impl Writer {
    fn new(path: &Path) -> Writer {
        Writer {
            path: path.to_path_buf(),
            connection: None,
            retry_at: Instant::now(),
            lost: 0,
            warned: false,
        }
    }

    /// Writes a batch, or counts it lost and says why once for the spell.
    fn write(&mut self, rows: &[Row]) {
        if rows.is_empty() {
            return;
        }
        match self.insert(rows) {
            Ok(()) => self.written(),
            Err(why) => self.failed(rows.len(), &why),
        }
    }

    /// Inserts a batch through the open database, closing it when the
    /// failure may be the connection's.
    fn insert(&mut self, rows: &[Row]) -> Result<(), String> {
        let connection = self.connection()?;
        match store::insert(connection, rows) {
            Ok(()) => Ok(()),
            Err(error) => {
                // A lock past the busy timeout is another process's
                // moment; anything else may be this connection's.
                if !store::is_busy(&error) {
                    self.close();
                }
                Err(format!(
                    "could not write to the usage ledger {}: {error}",
                    self.path.display()
                ))
            }
        }
    }

    /// Opens the database now, saying why not if it cannot be.
    fn open(&mut self) {
        if let Err(why) = self.connection() {
            self.failed(0, &why);
        }
    }

    /// The open database, opening it when it is due.
    fn connection(&mut self) -> Result<&mut Connection, String> {
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None if Instant::now() < self.retry_at => {
                return Err(format!("the usage ledger {} failed", self.path.display()));
            }
            None => match store::open_for_writing(&self.path) {
                Ok(connection) => connection,
                Err(error) => {
                    self.close();
                    return Err(error.to_string());
                }
            },
        };
        Ok(self.connection.insert(connection))
    }

    fn close(&mut self) {
        self.connection = None;
        self.retry_at = Instant::now() + RETRY_AFTER;
    }

    fn written(&mut self) {
        if std::mem::take(&mut self.warned) {
            tracing::info!(
                lost = std::mem::take(&mut self.lost),
                "usage ledger {} is written again",
                self.path.display()
            );
        }
    }

    fn failed(&mut self, rows: usize, why: &str) {
        self.lost += rows as u64;
        if !std::mem::replace(&mut self.warned, true) {
            tracing::warn!(
                rows,
                "{why}; usage is not recorded until it can be written again"
            );
        }
    }
}
