//! The time as of the current turn of a connection's task.
//!
//! A request reads the time at several places: as it arrives, as its
//! upstream connection leaves and rejoins the pool, as bytes move (the idle
//! timer), as the answer's head comes. Within one poll of the task serving
//! it those readings differ by microseconds, and on a virtual machine each
//! read of the clock costs far more than its few instructions. So the task
//! serving a client connection runs under `in_turns`: the first reading in a
//! poll reads the clock, and the rest of that poll shares it. Anywhere else
//! `now` reads the clock.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

#[derive(Clone, Copy)]
enum Turn {
    /// Not inside a poll of a task that shares its readings.
    Outside,
    /// Inside one, before anything read the time.
    Unread,
    Read(Instant),
}

thread_local! {
    static TURN: Cell<Turn> = const { Cell::new(Turn::Outside) };
}

/// The time: as first read in this poll of a task under `in_turns`, else
/// read now.
pub fn now() -> Instant {
    TURN.with(|turn| match turn.get() {
        Turn::Read(at) => at,
        Turn::Unread => {
            let at = Instant::now();
            turn.set(Turn::Read(at));
            at
        }
        Turn::Outside => Instant::now(),
    })
}

/// The time since `earlier`, as `now` reads it; zero if `earlier` was read
/// after this turn began.
pub fn since(earlier: Instant) -> Duration {
    now().saturating_duration_since(earlier)
}

/// Runs `task`, each of its polls sharing one reading of the time.
pub fn in_turns<F: Future>(task: F) -> InTurns<F> {
    InTurns { task }
}

pin_project_lite::pin_project! {
    /// A task whose polls each share one reading of the time. A struct, not
    /// an `async` wrapper: a client connection's task is large, and an
    /// `async` wrapper would hold it twice and copy it as it starts.
    pub struct InTurns<F> {
        #[pin]
        task: F,
    }
}

impl<F: Future> Future for InTurns<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _turn = TurnGuard::begin();
        self.project().task.poll(cx)
    }
}

/// One poll's turn; the one it interrupted (if any) comes back when it ends,
/// a panic included.
struct TurnGuard {
    outer: Turn,
}

impl TurnGuard {
    fn begin() -> TurnGuard {
        TurnGuard {
            outer: TURN.with(|turn| turn.replace(Turn::Unread)),
        }
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        TURN.with(|turn| turn.set(self.outer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause() {
        std::thread::sleep(Duration::from_millis(2));
    }

    #[test]
    fn outside_a_turn_every_reading_is_fresh() {
        let first = now();
        pause();
        assert!(since(first) >= Duration::from_millis(2));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_poll_shares_one_reading_and_the_next_poll_reads_again() {
        let (first, second, third) = in_turns(async {
            let first = now();
            pause();
            let second = now();
            tokio::task::yield_now().await;
            (first, second, now())
        })
        .await;
        assert_eq!(first, second);
        assert!(third.saturating_duration_since(second) >= Duration::from_millis(2));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_turn_ends_with_the_poll() {
        let inside = in_turns(async { now() }).await;
        pause();
        assert!(now().saturating_duration_since(inside) >= Duration::from_millis(2));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_reading_taken_later_than_the_turn_counts_as_no_time() {
        let later = Instant::now() + Duration::from_secs(1);
        assert_eq!(in_turns(async { since(later) }).await, Duration::ZERO);
    }
}
