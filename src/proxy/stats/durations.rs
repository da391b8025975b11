//! A histogram of exchange durations, in fixed buckets: from a quick
//! health check to an agent's minutes-long stream.

/// Upper bounds of the buckets, in microseconds, with how Prometheus
/// names each (`le`, in seconds); one more bucket counts the rest.
pub(super) const BOUNDS: [(u64, &str); 15] = [
    (5_000, "0.005"),
    (10_000, "0.01"),
    (25_000, "0.025"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (500_000, "0.5"),
    (1_000_000, "1"),
    (2_500_000, "2.5"),
    (5_000_000, "5"),
    (10_000_000, "10"),
    (30_000_000, "30"),
    (60_000_000, "60"),
    (120_000_000, "120"),
    (300_000_000, "300"),
];

/// Counts per bucket (not cumulative), the last past every bound.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Durations {
    pub counts: [u64; BOUNDS.len() + 1],
    pub sum_us: u64,
}

impl Durations {
    pub fn add(&mut self, micros: u64) {
        let bucket = BOUNDS
            .iter()
            .position(|(bound, _)| micros <= *bound)
            .unwrap_or(BOUNDS.len());
        self.counts[bucket] += 1;
        self.sum_us = self.sum_us.saturating_add(micros);
    }

    pub fn merge(&mut self, other: &Durations) {
        for (count, more) in self.counts.iter_mut().zip(other.counts) {
            *count += more;
        }
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_lands_in_the_first_bucket_that_holds_it() {
        let mut durations = Durations::default();
        for micros in [0, 5_000, 5_001, 299_999_999, 300_000_001] {
            durations.add(micros);
        }
        assert_eq!(durations.counts[0], 2);
        assert_eq!(durations.counts[1], 1);
        assert_eq!(durations.counts[BOUNDS.len() - 1], 1);
        assert_eq!(durations.counts[BOUNDS.len()], 1);
        assert_eq!(durations.count(), 5);
        assert_eq!(durations.sum_us, 600_010_001);
        let mut merged = durations.clone();
        merged.merge(&durations);
        assert_eq!((merged.count(), merged.sum_us), (10, 1_200_020_002));
    }
}
