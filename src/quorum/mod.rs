//! Checks from several locations with a quorum (issue 12): a monitor is
//! checked from every location it lists, once per round, and the round's
//! verdict counts the locations that failed against the monitor's quorum.
//! One location's network fault then pages nobody; a real outage pages once.
//!
//! * [`verdict`]: pure — each location's outcome for one round and the
//!   quorum → failing, passing, or not enough locations known to tell.
//! * [`round`]: pure — when rounds start (times every instance agrees on),
//!   each location's stagger, and how long a round waits for results
//! * [`evidence`]: each location's result, and the round told as one run
//!   with every location's evidence side by side
//! * [`degraded`]: pure — a location where every monitor fails while the
//!   others see them up (its own network, told once)

pub mod degraded;
pub mod evidence;
pub mod round;
pub mod verdict;

pub use verdict::{LocationOutcome, Quorum, RoundOutcome, RoundVerdict, round_verdict};
