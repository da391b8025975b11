//! How sure a comparison of two paths is: of their p99s, or of their
//! throughputs.
//!
//! One run's p99 rests on its few slowest events, and on this shared
//! machine a single stall moves it by a third; a slice of load a few
//! hundred milliseconds long moves by several percent. So a ratio comes
//! with a 95% interval from a bootstrap over rounds: the rounds are drawn
//! again with replacement, many times, and the ratio taken each time.
//! Rounds, not single events, are drawn because a round's events share its
//! background load; both paths get the same rounds in each draw because
//! they ran interleaved, so round `i` met the same weather on both.

use std::time::Duration;

const DRAWS: usize = 2000;
/// Below this many rounds a few bad ones decide every draw, and the
/// interval means little (4 rounds gave 0.18-0.81 for paths at parity).
pub const ROUNDS_FOR_A_VERDICT: usize = 20;
/// Any fixed seed will do; fixed so a run's interval can be recomputed.
const SEED: u64 = 0x6865_6164_726f_6f6d;

/// A ratio of two p99s and its 95% interval.
pub struct Interval {
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
    pub rounds: usize,
}

/// One round's slice of load on a path: the requests it completed, and
/// how long it ran.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    pub completed: u64,
    pub time: Duration,
}

/// `a`'s p99 over `b`'s, both pooled over all rounds, with its interval.
/// Both must hold the same rounds, in the same order.
pub fn p99_ratio(a: &[Vec<Duration>], b: &[Vec<Duration>]) -> Option<Interval> {
    if a.len() != b.len() {
        return None;
    }
    bootstrap(a.len(), |rounds| ratio_over(a, b, rounds))
}

/// `a`'s requests per second over `b`'s, each summed over the rounds,
/// with its interval. Both must hold the same rounds, in the same order.
pub fn rate_ratio(a: &[Load], b: &[Load]) -> Option<Interval> {
    if a.len() != b.len() {
        return None;
    }
    let drawn =
        |loads: &'_ [Load], rounds: &[usize]| rate(rounds.iter().map(|&round| &loads[round]));
    bootstrap(a.len(), |rounds| {
        let denominator = drawn(b, rounds).filter(|rate| *rate > 0.0)?;
        Some(drawn(a, rounds)? / denominator)
    })
}

/// A ratio over all `rounds`, and its interval over draws of them.
fn bootstrap(rounds: usize, ratio_of: impl Fn(&[usize]) -> Option<f64>) -> Option<Interval> {
    if rounds == 0 {
        return None;
    }
    let all: Vec<usize> = (0..rounds).collect();
    let ratio = ratio_of(&all)?;
    let mut random = fastrand::Rng::with_seed(SEED);
    let mut draws: Vec<f64> = (0..DRAWS)
        .filter_map(|_| {
            let drawn: Vec<usize> = all.iter().map(|_| random.usize(..rounds)).collect();
            ratio_of(&drawn)
        })
        .collect();
    draws.sort_unstable_by(f64::total_cmp);
    Some(Interval {
        ratio,
        low: quantile(&draws, 0.025)?,
        high: quantile(&draws, 0.975)?,
        rounds,
    })
}

/// Requests per second over `loads` taken together; `None` when they
/// took no time.
pub fn rate<'a>(loads: impl IntoIterator<Item = &'a Load>) -> Option<f64> {
    let (completed, seconds) = loads
        .into_iter()
        .fold((0, 0.0), |(completed, seconds), load| {
            (
                completed + load.completed,
                seconds + load.time.as_secs_f64(),
            )
        });
    (seconds > 0.0).then(|| completed as f64 / seconds)
}

fn ratio_over(a: &[Vec<Duration>], b: &[Vec<Duration>], rounds: &[usize]) -> Option<f64> {
    let denominator = p99(pooled(b, rounds))?;
    Some(p99(pooled(a, rounds))? / denominator.max(1.0))
}

fn pooled(samples: &[Vec<Duration>], rounds: &[usize]) -> Vec<Duration> {
    rounds
        .iter()
        .flat_map(|&round| samples[round].iter().copied())
        .collect()
}

/// Nearest-rank p99 in microseconds, as the bench's tables take it.
fn p99(mut samples: Vec<Duration>) -> Option<f64> {
    let rank = (samples.len().checked_sub(1)? as f64 * 0.99).round() as usize;
    let (_, nth, _) = samples.select_nth_unstable(rank);
    Some(nth.as_secs_f64() * 1e6)
}

fn quantile(sorted: &[f64], quantile: f64) -> Option<f64> {
    let rank = (sorted.len().checked_sub(1)? as f64 * quantile).round() as usize;
    sorted.get(rank).copied()
}
