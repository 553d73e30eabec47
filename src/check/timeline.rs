//! The attempt's timeline: what happened when, in milliseconds from the start.
//! Bounded, because a long hold with frequent pings must not grow without limit.

use super::model::{Event, Phase};
use std::time::Instant;

/// Most events kept per attempt; later ones are counted, not stored.
pub const MAX_EVENTS: usize = 200;

/// Collects events for one attempt.
#[derive(Debug)]
pub struct Timeline {
    origin: Instant,
    events: Vec<Event>,
    dropped: usize,
}

impl Timeline {
    /// A timeline whose zero is `origin`.
    pub fn new(origin: Instant) -> Timeline {
        Timeline {
            origin,
            events: Vec::new(),
            dropped: 0,
        }
    }

    /// Milliseconds since the origin.
    pub fn now_ms(&self) -> f64 {
        ms_between(self.origin, Instant::now())
    }

    /// Milliseconds from the origin to `at`.
    pub fn ms_at(&self, at: Instant) -> f64 {
        ms_between(self.origin, at)
    }

    /// Record something that just happened.
    pub fn event(&mut self, phase: Phase, what: impl Into<String>) {
        if self.events.len() >= MAX_EVENTS {
            self.dropped += 1;
            return;
        }
        self.events.push(Event {
            at_ms: round2(self.now_ms()),
            phase,
            what: what.into(),
        });
    }

    /// The events, with a closing note when some were dropped.
    pub fn into_events(mut self) -> Vec<Event> {
        if self.dropped > 0 {
            let at_ms = round2(self.now_ms());
            let phase = self.events.last().map_or(Phase::Open, |e| e.phase);
            self.events.push(Event {
                at_ms,
                phase,
                what: format!("({} more events not shown)", self.dropped),
            });
        }
        self.events
    }
}

/// Milliseconds between two instants, rounded to 0.01.
pub fn ms_between(from: Instant, to: Instant) -> f64 {
    round2(to.saturating_duration_since(from).as_secs_f64() * 1000.0)
}

/// Round to two decimals: timings are not more precise than that.
pub fn round2(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_beyond_the_cap_are_counted_not_kept() {
        let mut t = Timeline::new(Instant::now());
        for i in 0..MAX_EVENTS + 5 {
            t.event(Phase::Open, format!("ping {i}"));
        }
        let events = t.into_events();
        assert_eq!(events.len(), MAX_EVENTS + 1);
        assert_eq!(events.last().unwrap().what, "(5 more events not shown)");
    }
}
