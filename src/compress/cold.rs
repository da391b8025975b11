//! Conversations whose provider cache has gone cold: the previous request
//! came longer ago than a cache entry lives. Then the whole prompt is
//! written to the cache again anyway, and eliding stale outputs costs no
//! extra cache write; aggressive mode elides them all at that moment, and
//! keeps them elided on the conversation's later requests.
//!
//! This is the one decision that rests on memory rather than content: a
//! replica that did not see the pause renders those outputs whole.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a provider keeps a prompt cached without a hit: five minutes
/// at Anthropic and OpenAI.
pub const CACHE_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Conversations remembered before the memory starts over.
const CAPACITY: usize = 4096;

/// When each conversation was last seen, and how many of its leading
/// outputs a cold cache let aggressive mode elide.
#[derive(Default)]
pub struct Conversations {
    seen: Mutex<HashMap<u64, Seen>>,
}

struct Seen {
    at: Instant,
    elided: usize,
}

impl Conversations {
    /// Notes a request at `now` of the conversation `key`, whose first
    /// `stale` outputs may be elided; gives how many leading outputs are
    /// elided because its cache was cold, now or at an earlier request.
    pub fn cold_elided(&self, key: u64, stale: usize, now: Instant) -> usize {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.len() >= CAPACITY && !seen.contains_key(&key) {
            seen.clear();
        }
        let entry = seen.entry(key).or_insert(Seen { at: now, elided: 0 });
        if now.saturating_duration_since(entry.at) >= CACHE_LIFETIME {
            entry.elided = entry.elided.max(stale);
        }
        entry.at = now;
        entry.elided.min(stale)
    }
}

/// A conversation's key: its first tool output, as sent, with the id of
/// the call it answers; the same on every request of the conversation.
pub fn conversation_key(first_literal: &str, first_call_id: Option<&str>) -> u64 {
    let mut hasher = DefaultHasher::new();
    first_literal.hash(&mut hasher);
    first_call_id.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_longer_than_the_cache_elides_what_is_stale_then_and_keeps_it() {
        let conversations = Conversations::default();
        let start = Instant::now();
        let at = |seconds| start + Duration::from_secs(seconds);
        assert_eq!(conversations.cold_elided(1, 4, at(0)), 0);
        assert_eq!(conversations.cold_elided(1, 5, at(60)), 0);
        // Six minutes of silence: the cache is cold.
        assert_eq!(conversations.cold_elided(1, 6, at(420)), 6);
        // Later turns keep those six elided, and no more.
        assert_eq!(conversations.cold_elided(1, 7, at(430)), 6);
        assert_eq!(conversations.cold_elided(1, 9, at(440)), 6);
        // Another conversation is its own.
        assert_eq!(conversations.cold_elided(2, 9, at(440)), 0);
    }
}
