//! The clock of the proxy's connection timers, which are read on every
//! read and write but need no finer grain than a few milliseconds.
//!
//! `Instant::now` reads the time-stamp counter, and on a virtual machine
//! that costs several times what its instruction count suggests: under
//! load it took about 1% of the proxy's CPU for the seven or eight reads a
//! request made. The coarse clock is the kernel's last tick, read from
//! memory the kernel shares with every process.

use std::time::Duration;

use rustix::time::{clock_gettime, ClockId};

/// Time since an unspecified start, as of the kernel's last tick (a few
/// milliseconds ago at most). Never goes back.
pub fn coarse_now() -> Duration {
    Duration::try_from(clock_gettime(ClockId::MonotonicCoarse)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_clock_moves_with_the_precise_one_to_a_few_milliseconds() {
        let (coarse, precise) = (coarse_now(), std::time::Instant::now());
        std::thread::sleep(Duration::from_millis(50));
        let coarse_passed = coarse_now() - coarse;
        let precise_passed = precise.elapsed();
        let apart = coarse_passed.abs_diff(precise_passed);
        assert!(
            apart < Duration::from_millis(25),
            "coarse {coarse_passed:?}, precise {precise_passed:?}"
        );
        assert!(coarse_now() >= coarse + coarse_passed);
    }
}
