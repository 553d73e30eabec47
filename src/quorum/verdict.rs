//! The verdict of one round: what each listed location saw, counted against
//! the quorum. Pure, so every combination is tested.
//!
//! A location that failed counts toward the quorum, one that passed counts
//! against it, and one whose result is missing (its instances are gone, or
//! the result came after the round's deadline) is unknown: it counts neither
//! way. The round fails when the known failures reach the quorum whatever
//! the unknown locations saw, passes when they cannot reach it even if every
//! unknown location failed, and otherwise there are not enough locations
//! known to tell.

use crate::check::Class;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What one location saw in one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationOutcome {
    /// The check passed there.
    Up,
    /// The check failed there, with this class.
    Down(Class),
    /// No result from there in time.
    Unknown,
}

/// How many of the listed locations must fail for the round to fail
/// (`quorum:` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quorum {
    /// More than half of the listed locations (the default).
    #[default]
    Majority,
    /// Every listed location (`quorum: all`).
    All,
    /// At least this many (`quorum: N`), at least 1.
    AtLeast(usize),
}

impl Quorum {
    /// The number of failing locations, out of `listed`, that fails a round.
    pub fn required(self, listed: usize) -> usize {
        match self {
            Quorum::Majority => listed / 2 + 1,
            Quorum::All => listed.max(1),
            Quorum::AtLeast(n) => n.max(1),
        }
    }
}

/// What a round decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundOutcome {
    /// At least the quorum of locations failed.
    Failing,
    /// Fewer than the quorum failed, whatever the unknown locations saw.
    Passing,
    /// The unknown locations decide, so nothing is decided.
    NotEnoughLocations,
}

/// A round's outcome with the counts it was decided from, for alerts
/// ("1 of 3 failing, below quorum 2").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundVerdict {
    /// What the round decides.
    pub outcome: RoundOutcome,
    /// Locations whose check failed.
    pub failing: usize,
    /// Locations whose check passed.
    pub passing: usize,
    /// Locations without a result.
    pub unknown: usize,
    /// Failing locations needed to fail the round.
    pub quorum: usize,
}

impl RoundVerdict {
    /// Locations listed for the monitor.
    pub fn listed(&self) -> usize {
        self.failing + self.passing + self.unknown
    }
}

impl fmt::Display for RoundVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (failing, listed, quorum) = (self.failing, self.listed(), self.quorum);
        write!(f, "{failing} of {listed} failing")?;
        if self.unknown > 0 {
            write!(f, ", {} unknown", self.unknown)?;
        }
        match self.outcome {
            RoundOutcome::Failing => write!(f, ", quorum {quorum} reached"),
            RoundOutcome::Passing => write!(f, ", below quorum {quorum}"),
            RoundOutcome::NotEnoughLocations => {
                write!(f, ": not enough locations known for quorum {quorum}")
            }
        }
    }
}

/// The verdict of a round in which the listed locations saw `outcomes`.
pub fn round_verdict(outcomes: &[LocationOutcome], quorum: Quorum) -> RoundVerdict {
    let count = |want: fn(&LocationOutcome) -> bool| outcomes.iter().filter(|o| want(o)).count();
    let failing = count(|o| matches!(o, LocationOutcome::Down(_)));
    let passing = count(|o| matches!(o, LocationOutcome::Up));
    let unknown = count(|o| matches!(o, LocationOutcome::Unknown));
    let quorum = quorum.required(outcomes.len());
    let outcome = if failing >= quorum {
        RoundOutcome::Failing
    } else if failing + unknown < quorum {
        RoundOutcome::Passing
    } else {
        RoundOutcome::NotEnoughLocations
    };
    RoundVerdict {
        outcome,
        failing,
        passing,
        unknown,
        quorum,
    }
}

#[cfg(test)]
mod tests;
