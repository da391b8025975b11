//! Allocations kept for reuse, per thread: a request done with hands its
//! buffers and maps to the next one instead of freeing them.

use std::cell::RefCell;
use std::thread::LocalKey;

/// Spares (of each kind) kept at most per thread: one for every request in
/// flight on a busy proxy.
const SPARES_KEPT: usize = 64;

/// Keeps `spare` in `spares` for reuse, unless they are full.
pub(crate) fn keep_spare<T>(spares: &'static LocalKey<RefCell<Vec<T>>>, spare: T) {
    spares.with_borrow_mut(|kept| {
        if kept.len() < SPARES_KEPT {
            kept.push(spare);
        }
    });
}
