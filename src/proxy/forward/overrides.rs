//! Parsed `X-Headroom-Upstream` values. An agent sends the same few values
//! on every request, so each is parsed once; the cache is bounded so that a
//! client sending endless distinct values cannot grow it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::HeaderValue;

use crate::proxy::error::ProxyError;
use crate::proxy::lock::lock;
use crate::proxy::upstream::Upstream;

/// Distinct values kept; past this the cache starts over.
const CAPACITY: usize = 64;

#[derive(Default)]
pub struct OverrideCache {
    /// Ordered, not hashed: for a few dozen keys a comparison of bytes
    /// costs less than hashing the value on every request.
    parsed: Mutex<BTreeMap<HeaderValue, Arc<Upstream>>>,
}

impl OverrideCache {
    /// The parsed upstream for `value`, or why it is refused. Refusals are
    /// not cached: they are the caller's mistake and rare.
    pub fn parse(&self, value: &HeaderValue) -> Result<Arc<Upstream>, ProxyError> {
        if let Some(hit) = lock(&self.parsed).get(value) {
            return Ok(hit.clone());
        }
        let text = value.to_str().map_err(|_| {
            ProxyError::bad_upstream_header("contains a control or non-ASCII character")
        })?;
        let upstream = Arc::new(Upstream::parse(text).map_err(ProxyError::bad_upstream_header)?);
        let mut parsed = lock(&self.parsed);
        if parsed.len() >= CAPACITY {
            parsed.clear();
        }
        parsed.insert(value.clone(), upstream.clone());
        Ok(upstream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_once_and_stays_bounded() {
        let cache = OverrideCache::default();
        let value = HeaderValue::from_static("https://api.deepseek.com/v1");
        let first = cache.parse(&value).ok();
        let second = cache.parse(&value).ok();
        assert!(matches!((&first, &second), (Some(a), Some(b)) if Arc::ptr_eq(a, b)));
        for i in 0..(CAPACITY * 3) {
            let value = HeaderValue::from_str(&format!("https://h{i}.dev")).ok();
            assert!(value.is_some_and(|v| cache.parse(&v).is_ok()));
        }
        assert!(lock(&cache.parsed).len() <= CAPACITY);
        let bad = HeaderValue::from_static("ftp://x.dev");
        assert_eq!(
            cache.parse(&bad).err().map(|e| e.status.as_u16()),
            Some(400)
        );
        assert!(!lock(&cache.parsed).contains_key(&bad));
    }
}
