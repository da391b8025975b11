//! The seam where stages join the pipeline: a request stage may read a
//! request's whole body, on the routes it chooses, and send another in its
//! place; a response stage may watch a response's body go by, each chunk as
//! it passes, and learn how the stream ended. Neither can hold the response
//! back: the client gets every chunk as the upstream sent it, when it sent
//! it.
//!
//! A request watch sees the client's body go by as it is read, before any
//! request stage reads it, and says what it learned (the request's model)
//! when it has seen enough.
//!
//! A recorder, last, hears of every exchange once it is done.
//!
//! With no stage installed, a request pays one check of an empty `Option`
//! on each side, and one more at its end.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{header, request, HeaderMap, HeaderValue, Method, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;

use crate::proxy::error::ProxyError;
use crate::proxy::routes::Family;
use crate::proxy::stats::Outcome;
use crate::proxy::wire::body::{BodyTap, ClientBody, RequestBody};
use crate::proxy::wire::upload::Upload;
use crate::usage::{Family as Api, Usage};

mod followups;
pub use crate::proxy::stats::ToolTokens;
pub use followups::{Counting, OnAnswer, PendingCount};

/// Largest request body a request stage reads whole, unless told otherwise;
/// a larger one, or one of unknown length, goes upstream untouched.
pub const REQUEST_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// How hard a request stage may rewrite a request: the proxy's default,
/// or what the request's `X-Headroom-Compress` asks (in its extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    Off,
    Safe,
    Aggressive,
}

impl Level {
    pub const NAMES: [&'static str; 3] = ["off", "safe", "aggressive"];

    /// The level a header value names, or why it names none.
    pub fn parse(value: &[u8]) -> Result<Level, &'static str> {
        match value.trim_ascii() {
            b"off" => Ok(Level::Off),
            b"safe" => Ok(Level::Safe),
            b"aggressive" => Ok(Level::Aggressive),
            _ => Err("must be off, safe or aggressive"),
        }
    }

    pub fn as_str(self) -> &'static str {
        Level::NAMES[self as usize]
    }
}

/// Largest body a request stage reads on the proxy's own thread; a larger
/// one is read on the blocking pool.
const INLINE_BODY_LIMIT: usize = 32 * 1024;

/// A copy of the request head a stage reads.
fn head_of(parts: &request::Parts) -> request::Parts {
    let (mut head, ()) = http::Request::new(()).into_parts();
    head.method = parts.method.clone();
    head.uri = parts.uri.clone();
    head.version = parts.version;
    head.headers = parts.headers.clone();
    head.extensions = parts.extensions.clone();
    head
}

/// Reads a request's whole body and may replace it.
pub trait RequestStage: Send + Sync {
    /// True when this stage wants the body of the request `parts` heads
    /// (already readied for its upstream), a call of the LLM API `api`.
    fn wants(&self, api: Option<Api>, parts: &request::Parts) -> bool;

    /// What to send instead of `body`, and what the stage counted. A stage
    /// that does not understand the body passes it on.
    fn replace(&self, api: Option<Api>, parts: &request::Parts, body: &Bytes) -> Replaced;
}

/// A request stage's answer for one body.
#[derive(Debug, Default)]
pub struct Replaced {
    /// The body to send; `None` sends the client's as it came.
    pub body: Option<Bytes>,
    /// The tokens of the body's tool outputs, when the stage counts them.
    pub counting: Option<Counting>,
    /// Told what the answer's usage reported, when the stage wants to know.
    pub on_answer: Option<OnAnswer>,
}

/// Chooses the request bodies to watch as they pass.
pub trait RequestWatcher: Send + Sync {
    /// A watch for the body of the request `asked`, or `None`.
    fn watch(&self, asked: Asked<'_>) -> Option<Box<dyn RequestWatch>>;
}

/// Sees one request's body go by, as the client sends it. Called from the
/// task that sends it upstream, so it must not block.
pub trait RequestWatch: Send {
    /// The next chunk of the body; false once the watch needs no more.
    fn chunk(&mut self, data: &Bytes) -> bool;

    /// What the watch learned; called once, when it needs no more or the
    /// body ended.
    fn end(self: Box<Self>) -> RequestFindings;
}

/// What a request watch learned of its request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RequestFindings {
    /// The model the request asked for, when the watch read it.
    pub model: Option<String>,
}

/// Where a request watch's findings land, for the exchange to read at its
/// end; empty until the watch has ended.
pub type RequestFound = Arc<OnceLock<RequestFindings>>;

/// Feeds a request watch from the request's body and keeps what it found.
struct Watched {
    watch: Box<dyn RequestWatch>,
    found: RequestFound,
}

impl BodyTap for Watched {
    fn chunk(&mut self, data: &Bytes) -> bool {
        self.watch.chunk(data)
    }

    fn end(self: Box<Self>) {
        let _ = self.found.set(self.watch.end());
    }
}

/// The request a response answers, as a response stage sees it.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub family: Family,
    pub method: &'a Method,
    /// The client's path, without its query.
    pub path: &'a str,
    /// The LLM API a POST calls, read from its path once per exchange.
    pub api: Option<Api>,
}

/// Chooses the responses to watch.
pub trait ResponseStage: Send + Sync {
    /// A watch for the response to `asked` with this status and these
    /// headers (as the client gets them), or `None` to leave it alone.
    fn watch(
        &self,
        asked: Asked<'_>,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Option<Box<dyn ResponseWatch>>;
}

/// What a watch learned of its exchange, logged on the exchange's line and
/// added to the stats.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    /// The token usage the response reported, when the watch read it.
    pub usage: Option<Usage>,
}

/// Sees one response's body go by. Called from the task that writes it to
/// the client, so it must not block.
pub trait ResponseWatch: Send {
    /// The next chunk of the body, as the client gets it.
    fn chunk(&mut self, data: &Bytes);

    /// The stream ended: `Completed` when the body was whole, else why it
    /// was cut (`upstream_body`, `client_disconnect`...). Called before the
    /// exchange is logged, so what it finds is on the exchange's line.
    fn end(self: Box<Self>, outcome: Outcome) -> Findings;
}

/// One finished exchange, as a recorder hears of it: what the exchange's
/// log line says, minus its byte counts.
#[derive(Debug, Clone, Copy)]
pub struct Done<'a> {
    pub method: &'a Method,
    /// The client's path, without its query.
    pub path: &'a str,
    /// The LLM API a POST called.
    pub api: Option<Api>,
    /// `scheme://host[:port]` of the upstream, `(none)` when none was known.
    pub origin: &'a str,
    /// The provider the client named (`X-Headroom-Provider`), if it did.
    pub provider: Option<&'a str>,
    /// The response's model, else the request's, when either was read.
    pub model: Option<&'a str>,
    pub family: Family,
    /// 0 when no answer was sent.
    pub status: u16,
    pub outcome: Outcome,
    /// From the request's arrival to its end.
    pub duration: Duration,
    /// What the response's watch read, if one watched it.
    pub usage: Option<&'a Usage>,
    /// The request's tool-output tokens, if a request stage counted them.
    pub tool_tokens: Option<ToolTokens>,
}

/// Hears of every exchange once, after its line is logged. Called on the
/// request's task, so it must not block.
pub trait Recorder: Send + Sync {
    fn record(&self, done: &Done<'_>);
}

/// The stages a proxy runs; none by default.
#[derive(Clone)]
pub struct Stages {
    request: Option<Arc<dyn RequestStage>>,
    request_watcher: Option<Arc<dyn RequestWatcher>>,
    response: Option<Arc<dyn ResponseStage>>,
    recorder: Option<Arc<dyn Recorder>>,
    request_body_limit: usize,
}

impl Default for Stages {
    fn default() -> Stages {
        Stages {
            request: None,
            request_watcher: None,
            response: None,
            recorder: None,
            request_body_limit: REQUEST_BODY_LIMIT,
        }
    }
}

impl Stages {
    pub fn with_request(mut self, stage: Arc<dyn RequestStage>) -> Stages {
        self.request = Some(stage);
        self
    }

    pub fn with_request_watcher(mut self, watcher: Arc<dyn RequestWatcher>) -> Stages {
        self.request_watcher = Some(watcher);
        self
    }

    pub fn with_response(mut self, stage: Arc<dyn ResponseStage>) -> Stages {
        self.response = Some(stage);
        self
    }

    pub fn with_recorder(mut self, recorder: Arc<dyn Recorder>) -> Stages {
        self.recorder = Some(recorder);
        self
    }

    /// Sets the largest request body a request stage reads whole.
    pub fn with_request_body_limit(mut self, limit: usize) -> Stages {
        self.request_body_limit = limit;
        self
    }

    /// The request stage, if there is one and it wants this request.
    #[inline]
    pub(super) fn request_for(
        &self,
        api: Option<Api>,
        parts: &request::Parts,
    ) -> Option<&Arc<dyn RequestStage>> {
        let stage = self.request.as_ref()?;
        stage.wants(api, parts).then_some(stage)
    }

    /// `body` with a watch reading it, if the request watcher wants one;
    /// and where what the watch finds will be.
    #[inline]
    pub(super) fn watch_request(
        &self,
        asked: Asked<'_>,
        body: RequestBody,
    ) -> (RequestBody, Option<RequestFound>) {
        let Some(watch) = self
            .request_watcher
            .as_deref()
            .and_then(|watcher| watcher.watch(asked))
        else {
            return (body, None);
        };
        let found = RequestFound::default();
        let tap = Watched {
            watch,
            found: found.clone(),
        };
        (body.with_tap(Box::new(tap)), Some(found))
    }

    /// A watch for this response, if a response stage wants one.
    #[inline]
    pub(super) fn watch(
        &self,
        asked: Asked<'_>,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Option<Box<dyn ResponseWatch>> {
        self.response.as_deref()?.watch(asked, status, headers)
    }

    /// Tells the recorder, if there is one, of a finished exchange.
    #[inline]
    pub(super) fn record(&self, done: &Done<'_>) {
        if let Some(recorder) = self.recorder.as_deref() {
            recorder.record(done);
        }
    }

    /// Runs `stage` on the request: reads its body whole when its length is
    /// known and within the limit, and gives the body to send, with the
    /// `content-length` in `parts` set to match, and the rest of the stage's
    /// answer (its body taken out). Any other body goes on as it came,
    /// still streaming. A body that stops coming for `idle` is an error, as
    /// it would be on its way upstream.
    pub(super) async fn run_request(
        &self,
        stage: &Arc<dyn RequestStage>,
        api: Option<Api>,
        parts: &mut request::Parts,
        mut body: RequestBody,
        idle: Duration,
    ) -> Result<(RequestBody, Replaced), ProxyError> {
        let within = body
            .size_hint()
            .exact()
            .and_then(|length| usize::try_from(length).ok())
            .filter(|length| *length <= self.request_body_limit);
        let Some(length) = within else {
            return Ok((body, Replaced::default()));
        };
        let whole = read_whole(&mut body, length, idle).await?;
        let mut replaced = if whole.len() <= INLINE_BODY_LIMIT {
            stage.replace(api, parts, &whole)
        } else {
            // A big body may take the stage milliseconds: off the proxy's
            // one thread, which relays every other exchange meanwhile.
            let (stage, head, body) = (stage.clone(), head_of(parts), whole.clone());
            tokio::task::spawn_blocking(move || stage.replace(api, &head, &body))
                .await
                .unwrap_or_default()
        };
        let sent = replaced.body.take().unwrap_or(whole);
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(sent.len()));
        // The client's bytes were counted as they were read; the new body
        // counts apart from them.
        let body = RequestBody::new(ClientBody::Http1(Upload::whole(sent)), Arc::default());
        Ok((body, replaced))
    }
}

/// The body of `length` bytes, in one piece: as it came when it came in
/// one frame (a JSON request, most often), else joined.
async fn read_whole(
    body: &mut RequestBody,
    length: usize,
    idle: Duration,
) -> Result<Bytes, ProxyError> {
    let mut first = Bytes::new();
    let mut joined: Option<BytesMut> = None;
    while let Some(frame) = tokio::time::timeout(idle, body.frame())
        .await
        .map_err(|_| ProxyError::request_body_timeout(idle))?
    {
        let frame = frame.map_err(|_| ProxyError::bad_request_body())?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match &mut joined {
            None if first.is_empty() => first = data,
            None => {
                let mut all = BytesMut::with_capacity(length.max(first.len() + data.len()));
                all.extend_from_slice(&first);
                all.extend_from_slice(&data);
                joined = Some(all);
            }
            Some(all) => all.extend_from_slice(&data),
        }
    }
    Ok(joined.map_or(first, BytesMut::freeze))
}

#[cfg(test)]
mod tests;
