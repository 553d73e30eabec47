//! The phases of one attempt, a file each, in the order they run:
//! [`dns`] → [`connect`] → [`tls`] → [`upgrade`] → [`open`] → [`close`].
//! Each phase times itself into the report, keeps its evidence and hands the
//! next one what it produced; the first failure ends the sequence.

pub mod close;
pub mod connect;
pub mod dns;
pub mod open;
pub mod tls;
pub mod upgrade;

use super::attempt::AttemptReport;
use super::budget::Budget;
use super::error::CheckError;
use super::session::Session;
use super::spec::CheckSpec;
use super::timeline::{Timeline, ms_between};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// What every phase of one attempt works with.
pub struct Attempt<'a> {
    /// What to check.
    pub spec: &'a CheckSpec,
    /// The attempt's time budget.
    pub budget: &'a mut Budget,
    /// The timeline.
    pub log: &'a mut Timeline,
    /// The report the phases fill in.
    pub report: &'a mut AttemptReport,
    /// Cancelled when wsprobe stops: a hold ends early, then a clean close.
    pub stop: &'a CancellationToken,
}

/// The phases in order, each taking what the one before produced.
pub async fn run(a: &mut Attempt<'_>) -> Result<(), CheckError> {
    let dial = dns::run(a).await?;
    let tcp = connect::run(a, &dial).await?;
    let io = tls::run(a, tcp).await?;
    let mut session = upgrade::run(a, io).await?;
    open::run(a, &mut session).await?;
    close::run(a, &mut session).await
}

/// Milliseconds since `started`, for a phase's timing.
fn phase_ms(started: Instant) -> f64 {
    ms_between(started, Instant::now())
}

/// The session's byte counts and how it ended, into the report.
fn finish_session(session: &mut Session<'_>, report: &mut AttemptReport) {
    let (sent, received) = session.bytes();
    report.bytes_sent = sent;
    report.bytes_received = received;
    report.close = session.close.take();
}
