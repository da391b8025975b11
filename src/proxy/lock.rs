//! Locking that outlives a panic.

/// Locks `mutex` even if a panic poisoned it: every map the proxy guards
/// is changed in single steps that a panic cannot leave half-done.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
