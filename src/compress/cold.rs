//! Conversations whose provider cache has gone cold: the previous request
//! came longer ago than a cache entry lives, or its answer reported that
//! nothing was read from the cache. Then the whole prompt is written to the
//! cache again anyway (or never cached), and eliding stale outputs costs no
//! extra cache write; aggressive mode elides them all at that moment, and
//! keeps them elided on the conversation's later requests.
//!
//! This is the one decision that rests on memory rather than content: a
//! replica that did not see the pause or the answer renders those outputs
//! whole.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a provider keeps a prompt cached without a hit: five minutes
/// at Anthropic and OpenAI.
pub const CACHE_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Conversations remembered before the memory starts over.
const CAPACITY: usize = 4096;

/// The shortest prompt the providers cache (1,024 tokens at Anthropic and
/// OpenAI): a shorter one's empty cache read says nothing.
const MIN_CACHED_PROMPT: u64 = 1024;

/// When each conversation was last seen, and how many of its leading
/// outputs a cold cache let aggressive mode elide.
#[derive(Debug, Default)]
pub struct Conversations {
    seen: Mutex<HashMap<u64, Seen>>,
}

#[derive(Debug)]
struct Seen {
    at: Instant,
    elided: usize,
    /// Requests seen with the conversation's key.
    requests: u32,
    /// The last answer read nothing from a cache it should have hit.
    uncached: bool,
    /// The latest request whose answer reported usage: the provider has
    /// seen the conversation so, in the cache of that request's model.
    answered: Option<Answered>,
}

#[derive(Debug, Clone, Copy)]
struct Answered {
    /// The model asked for (hashed): each model has a cache of its own.
    model: u64,
    /// The leading outputs among which the request sent stubs.
    stubbed: usize,
}

impl Conversations {
    /// Notes a request at `now` of the conversation `key`, whose first
    /// `stale` outputs may be elided; gives how many leading outputs are
    /// elided because its cache was cold, now or at an earlier request.
    pub fn cold_elided(&self, key: u64, stale: usize, now: Instant) -> usize {
        let mut seen = self.lock();
        let entry = entry(&mut seen, key, now);
        let paused = now.saturating_duration_since(entry.at) >= CACHE_LIFETIME;
        if paused || entry.uncached {
            entry.elided = entry.elided.max(stale);
            entry.uncached = false;
        }
        entry.at = now;
        entry.requests = entry.requests.saturating_add(1);
        entry.elided.min(stale)
    }

    /// How far the stubs of the latest answered request of conversation
    /// `key` reach (see `answered`), when it asked for `model` too; `None`
    /// when no answer to it has reported usage in this process, which then
    /// does not know how the cache of `model` holds it.
    pub fn answered_reach(&self, key: u64, model: u64) -> Option<usize> {
        let seen = self.lock();
        let answered = seen.get(&key)?.answered?;
        (answered.model == model).then_some(answered.stubbed)
    }

    /// Notes what the answer to the latest request of conversation `key`
    /// reported. A prompt long enough to cache that read nothing from the
    /// cache, when the conversation had sent its start before, means the
    /// provider is not caching it: its next request elides what is stale.
    /// A cache read the provider does not report (`None`) says nothing.
    /// Its usage also says the provider read the prompt, asked of `model`
    /// (hashed), stubs among its first `stubbed` outputs included: that
    /// model's cache may now hold them.
    pub fn answered(
        &self,
        key: u64,
        input_tokens: Option<u64>,
        cache_read_tokens: Option<u64>,
        (model, stubbed): (u64, usize),
    ) {
        if input_tokens.is_none() {
            return;
        }
        let mut seen = self.lock();
        let entry = entry(&mut seen, key, Instant::now());
        entry.answered = Some(Answered { model, stubbed });
        // What the provider has seen stubbed stays stubbed, also when the
        // memory of why started over meanwhile.
        entry.elided = entry.elided.max(stubbed);
        let cacheable = input_tokens.is_some_and(|tokens| tokens >= MIN_CACHED_PROMPT);
        if cacheable && cache_read_tokens == Some(0) {
            entry.uncached |= entry.requests >= 2;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Seen>> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Conversation `key`'s entry, made (seen first at `now`) when missing;
/// past `CAPACITY` the memory starts over.
fn entry(seen: &mut HashMap<u64, Seen>, key: u64, now: Instant) -> &mut Seen {
    if seen.len() >= CAPACITY && !seen.contains_key(&key) {
        seen.clear();
    }
    seen.entry(key).or_insert(Seen {
        at: now,
        elided: 0,
        requests: 0,
        uncached: false,
        answered: None,
    })
}

/// A model's key in `Answered`.
pub fn model_key(model: Option<&str>) -> u64 {
    hash_of(model)
}

/// A conversation's key: its first tool output (`first`, the memo's key of
/// it, which already hashes its text) with the id of the call it answers;
/// the same on every request of the conversation.
pub fn conversation_key(first: impl Hash, first_call_id: Option<&str>) -> u64 {
    hash_of((first, first_call_id))
}

fn hash_of(value: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
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

    #[test]
    fn an_answer_that_read_no_cache_elides_what_is_stale_on_the_next_request() {
        let conversations = Conversations::default();
        let now = Instant::now();
        // The conversation's first request: nothing was cached before it.
        assert_eq!(conversations.cold_elided(1, 2, now), 0);
        conversations.answered(1, Some(5000), Some(0), (0, 0));
        assert_eq!(conversations.cold_elided(1, 3, now), 0);
        // Its second, with a prefix sent before, read nothing.
        conversations.answered(1, Some(5000), Some(0), (0, 0));
        assert_eq!(conversations.cold_elided(1, 4, now), 4);
        // A hit keeps what was elided, and no more.
        conversations.answered(1, Some(6000), Some(5000), (0, 0));
        assert_eq!(conversations.cold_elided(1, 5, now), 4);
    }

    #[test]
    fn a_short_prompt_an_unreported_read_or_a_stranger_says_nothing() {
        let conversations = Conversations::default();
        let now = Instant::now();
        conversations.cold_elided(1, 2, now);
        conversations.cold_elided(1, 3, now);
        conversations.answered(1, Some(800), Some(0), (0, 0));
        conversations.answered(1, Some(5000), None, (0, 0));
        conversations.answered(1, None, Some(0), (0, 0));
        conversations.answered(2, Some(5000), Some(0), (0, 0));
        assert_eq!(conversations.cold_elided(1, 4, now), 0);
        assert_eq!(conversations.cold_elided(2, 4, now), 0);
    }
}
