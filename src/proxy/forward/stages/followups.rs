//! What a request stage leaves for the rest of its exchange: the token
//! counts it did not make before the request was sent, and its ear for
//! what the answer's usage reported.

use super::ToolTokens;
use crate::usage::Usage;

/// What a request stage learns of the answer to its request: the usage the
/// response reported. Called once the exchange ends, and only when a usage
/// was read; on the request's task, so it must not block.
pub struct OnAnswer(Box<dyn FnOnce(&Usage) + Send>);

impl OnAnswer {
    pub fn new(hear: impl FnOnce(&Usage) + Send + 'static) -> OnAnswer {
        OnAnswer(Box::new(hear))
    }

    pub fn answered(self, usage: &Usage) {
        (self.0)(usage)
    }
}

impl std::fmt::Debug for OnAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnAnswer")
    }
}

/// A stage's token counts: known at once, or work (milliseconds for a big
/// new tool output) that the proxy does while the request is upstream
/// rather than before it is sent.
pub enum Counting {
    Known(ToolTokens),
    Later(Box<dyn FnOnce() -> ToolTokens + Send>),
}

impl std::fmt::Debug for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Counting::Known(tokens) => f.debug_tuple("Known").field(tokens).finish(),
            Counting::Later(_) => f.write_str("Later"),
        }
    }
}

impl Counting {
    /// Starts the counting that is left on the blocking pool; await the
    /// result once the upstream has answered.
    pub fn start(self) -> PendingCount {
        match self {
            Counting::Known(tokens) => PendingCount::Known(tokens),
            Counting::Later(count) => PendingCount::Running(tokio::task::spawn_blocking(count)),
        }
    }
}

/// Counts being made while the request is upstream.
pub enum PendingCount {
    Known(ToolTokens),
    Running(tokio::task::JoinHandle<ToolTokens>),
}

impl PendingCount {
    /// The counts; `None` if their making failed.
    pub async fn finish(self) -> Option<ToolTokens> {
        match self {
            PendingCount::Known(tokens) => Some(tokens),
            PendingCount::Running(counting) => counting.await.ok(),
        }
    }
}
