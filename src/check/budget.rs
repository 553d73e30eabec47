//! Time accounting for one attempt. `--timeout` bounds each waiting step and the
//! whole attempt, except the time deliberately spent holding the connection.

use std::time::{Duration, Instant};

/// The time left for one attempt.
#[derive(Debug, Clone)]
pub struct Budget {
    start: Instant,
    limit: Duration,
    excluded: Duration,
}

impl Budget {
    /// A budget of `limit`, starting now.
    pub fn start(limit: Duration) -> Budget {
        Budget {
            start: Instant::now(),
            limit,
            excluded: Duration::ZERO,
        }
    }

    /// The instant the attempt started.
    pub fn origin(&self) -> Instant {
        self.start
    }

    /// Milliseconds since the attempt started (hold included).
    pub fn elapsed_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    /// Time left in the attempt's budget.
    pub fn remaining(&self) -> Duration {
        let counted = self.start.elapsed().saturating_sub(self.excluded);
        self.limit.saturating_sub(counted)
    }

    /// The limit for a step whose own limit is `step`: never past the budget.
    pub fn step(&self, step: Duration) -> Duration {
        step.min(self.remaining())
    }

    /// Do not count `d` (time spent holding) against the budget.
    pub fn exclude(&mut self, d: Duration) {
        self.excluded += d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_never_outlives_the_attempt() {
        let b = Budget::start(Duration::from_millis(100));
        std::thread::sleep(Duration::from_millis(30));
        let step = b.step(Duration::from_secs(5));
        assert!(step <= Duration::from_millis(70), "{step:?}");
        assert!(step > Duration::ZERO);
    }

    #[test]
    fn held_time_is_not_counted() {
        let mut b = Budget::start(Duration::from_millis(50));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.remaining(), Duration::ZERO);
        b.exclude(Duration::from_millis(60));
        assert!(b.remaining() > Duration::from_millis(30));
    }
}
