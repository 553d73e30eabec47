//! Checks from several locations with a quorum (issue 12): a monitor is
//! checked from every location it lists, once per round, and the round's
//! verdict counts the locations that failed against the monitor's quorum.
//! One location's network fault then pages nobody; a real outage pages once.
//!
//! * [`verdict`]: pure — each location's outcome for one round and the
//!   quorum → failing, passing, or not enough locations known to tell.

pub mod verdict;

pub use verdict::{LocationOutcome, Quorum, RoundOutcome, RoundVerdict, round_verdict};
