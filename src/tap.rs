//! The usage tap: the proxy's response stage that reads the token usage of
//! each answer on the LLM routes as it passes. It joins the proxy's seam to
//! the usage reader, so that neither knows the other: the reader sees a
//! side copy of each chunk, and the client gets every byte as it came.

use std::sync::Arc;

use http::{header, HeaderMap, Method, StatusCode};

use bytes::Bytes;

use crate::proxy::stages::{Asked, Findings, ResponseStage, ResponseWatch, Stages};
use crate::proxy::stats::Outcome;
use crate::usage::{Family, UsageReader};

/// Watches the successful answers to POSTs on the paths of an API that
/// reports usage.
pub struct UsageTap;

/// The stages `headroom proxy` and `headroom wrap` run.
pub fn default_stages() -> Stages {
    Stages::default().with_response(Arc::new(UsageTap))
}

impl ResponseStage for UsageTap {
    fn watch(
        &self,
        asked: Asked<'_>,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Option<Box<dyn ResponseWatch>> {
        if asked.method != Method::POST || !status.is_success() {
            return None;
        }
        let family = Family::for_path(asked.path)?;
        let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
        // The request's model would need its body, which streams past
        // unread; every API names the model in its answer.
        let reader = UsageReader::new(
            family,
            text(header::CONTENT_TYPE),
            text(header::CONTENT_ENCODING),
            None,
        );
        Some(Box::new(Tap(reader)))
    }
}

struct Tap(UsageReader);

impl ResponseWatch for Tap {
    fn chunk(&mut self, data: &Bytes) {
        self.0.feed(data);
    }

    fn end(self: Box<Self>, outcome: Outcome) -> Findings {
        Findings {
            usage: Some(self.0.finish(outcome == Outcome::Completed)),
        }
    }
}
