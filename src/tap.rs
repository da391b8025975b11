//! The usage tap: the proxy's response stage that reads the token usage of
//! each answer on the LLM routes as it passes. It joins the proxy's seam to
//! the usage reader, so that neither knows the other: the reader sees a
//! side copy of each chunk, and the client gets every byte as it came.

use std::sync::Arc;

use http::{header, HeaderMap, StatusCode};

use bytes::Bytes;

use crate::proxy::stages::{
    Asked, Findings, RequestFindings, RequestWatch, RequestWatcher, ResponseStage, ResponseWatch,
    Stages,
};
use crate::proxy::stats::Outcome;
use crate::usage::request_model::{self, ModelScan};
use crate::usage::{Family, UsageReader};

/// Watches the successful answers to POSTs on the paths of an API that
/// reports usage, and the requests' bodies for the model they ask for.
pub struct UsageTap;

/// The stages `headroom proxy` and `headroom wrap` run.
pub fn default_stages() -> Stages {
    let tap = Arc::new(UsageTap);
    Stages::default()
        .with_request_watcher(tap.clone())
        .with_response(tap)
}

impl RequestWatcher for UsageTap {
    fn watch(&self, asked: Asked<'_>) -> Option<Box<dyn RequestWatch>> {
        let watch = match asked.api? {
            Family::Gemini => RequestModel::Known(request_model::from_gemini_path(asked.path)),
            _ => RequestModel::Scan(ModelScan::default()),
        };
        Some(Box::new(watch))
    }
}

/// The request's model: named by the path, or looked for in the body.
enum RequestModel {
    Known(Option<String>),
    Scan(ModelScan),
}

impl RequestWatch for RequestModel {
    fn chunk(&mut self, data: &Bytes) -> bool {
        match self {
            RequestModel::Known(_) => false,
            RequestModel::Scan(scan) => scan.feed(data),
        }
    }

    fn end(self: Box<Self>) -> RequestFindings {
        let model = match *self {
            RequestModel::Known(model) => model,
            RequestModel::Scan(scan) => scan.finish(),
        };
        RequestFindings { model }
    }
}

impl ResponseStage for UsageTap {
    fn watch(
        &self,
        asked: Asked<'_>,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Option<Box<dyn ResponseWatch>> {
        if !status.is_success() {
            return None;
        }
        let family = asked.api?;
        let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
        // The request's model, for an answer that names none, is the
        // exchange's to add: its body may still be streaming.
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
