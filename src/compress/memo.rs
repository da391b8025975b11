//! What each tool output becomes, remembered by its content: a request
//! repeats every earlier output of its conversation, and only its new ones
//! should cost work. Bounded: past its size the memo starts over, which
//! costs time, never a different answer (each rewrite is a pure function of
//! the output).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use super::tokens;
use super::tool::Kind;

/// Entries kept before the memo starts over: thousands of outputs, many
/// conversations' worth.
const CAPACITY: usize = 8192;

/// One output's forms: as the client sent it and as headroom sends it.
#[derive(Debug, Default)]
pub struct Forms {
    /// Tokens of the text as the client sent it, once counted: a new big
    /// output's count is made after its request is sent, unless a decision
    /// needed it before.
    tokens: OnceLock<usize>,
    /// The output's own rewrite, when one is shorter: a JSON string literal
    /// and its text's tokens.
    pub rewrite: Option<Literal>,
    /// The stub that replaces it once it is elided (aggressive mode).
    pub stub: OnceLock<Option<Literal>>,
}

impl Forms {
    /// Forms with `rewrite`, and the client's count when already known.
    pub fn new(tokens: Option<usize>, rewrite: Option<Literal>) -> Forms {
        Forms {
            tokens: tokens.map(OnceLock::from).unwrap_or_default(),
            rewrite,
            stub: OnceLock::new(),
        }
    }

    /// Tokens of the text as the client sent it, `literal`; counted on the
    /// first call.
    pub fn tokens(&self, literal: &str) -> usize {
        *self.tokens.get_or_init(|| {
            serde_json::from_str::<String>(literal).map_or(0, |text| tokens::count(&text))
        })
    }

    /// The client's count, when it is known without counting.
    pub fn known_tokens(&self) -> Option<usize> {
        self.tokens.get().copied()
    }

    /// Tokens of the form headroom sends when the output (the client's
    /// `literal`) is neither a reference nor elided.
    pub fn own_tokens(&self, literal: &str) -> usize {
        match &self.rewrite {
            Some((_, tokens)) => *tokens,
            None => self.tokens(literal),
        }
    }
}

/// A key that names an output's literal, its tool kind and, for a
/// reference, the earlier output it refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    hash: u64,
    length: usize,
    kind: Kind,
}

impl Key {
    pub fn new(literal: &str, kind: Kind) -> Key {
        let mut hasher = DefaultHasher::new();
        literal.hash(&mut hasher);
        Key {
            hash: hasher.finish(),
            length: literal.len(),
            kind,
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }
}

/// A JSON string literal to send, and the tokens of its text.
pub type Literal = (String, usize);

/// Remembered forms, and remembered references to earlier outputs.
#[derive(Default)]
pub struct Memo {
    forms: Mutex<HashMap<Key, Arc<Forms>>>,
    edits: Mutex<HashMap<(Key, Key), Option<Literal>>>,
}

impl Memo {
    /// The forms of the output `key` names, made by `make` when not known.
    pub fn forms(&self, key: Key, make: impl FnOnce() -> Forms) -> Arc<Forms> {
        remembered(&self.forms, key, || Arc::new(make()))
    }

    /// The edit that sends output `key` as a change to output `earlier`.
    pub fn edit(
        &self,
        key: Key,
        earlier: Key,
        make: impl FnOnce() -> Option<Literal>,
    ) -> Option<Literal> {
        remembered(&self.edits, (key, earlier), make)
    }
}

/// The value `map` holds for `key`, made by `make` (outside the lock: a big
/// output takes milliseconds) and kept when it was not there.
fn remembered<K: Hash + Eq, V: Clone>(
    map: &Mutex<HashMap<K, V>>,
    key: K,
    make: impl FnOnce() -> V,
) -> V {
    if let Some(value) = lock(map).get(&key) {
        return value.clone();
    }
    let value = make();
    let mut map = lock(map);
    if map.len() >= CAPACITY {
        map.clear();
    }
    map.entry(key).or_insert(value).clone()
}

/// A poisoned memo is still a valid memo: every entry is whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
