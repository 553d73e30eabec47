//! The `open` phase, on the WebSocket after a valid 101: ping/pong, the
//! script ([`steps`](crate::check::steps)), and holding with pings. A failure here still gets a polite
//! close when the connection works, so the server logs no 1006.

use super::{Attempt, finish_session, phase_ms};
use crate::check::budget::Budget;
use crate::check::error::CheckError;
use crate::check::failure::Awaited;
use crate::check::model::Phase;
use crate::check::session::{Incoming, Session};
use crate::check::steps::run::ScriptState;
use crate::check::timeline::{Timeline, ms_between};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tungstenite::Message;

/// Run the `open` phase on `session`.
pub(super) async fn run(a: &mut Attempt<'_>, session: &mut Session<'_>) -> Result<(), CheckError> {
    let started = Instant::now();
    let mut script = ScriptState::default();
    let opened = session.open(a.budget, a.log, a.stop, &mut script).await;
    a.report.timings.set(Phase::Open, phase_ms(started));
    a.report.timings.steps = script.timings;
    if let Err(e) = opened {
        // Unless the server has closed already (a wrong `expect_close` code).
        if session.close.is_none()
            && matches!(
                e,
                CheckError::UnexpectedMessage { .. } | CheckError::Timeout { .. }
            )
        {
            session.close_politely().await;
        }
        finish_session(session, a.report);
        return Err(e);
    }
    Ok(())
}

impl Session<'_> {
    /// Send one ping and wait for its pong.
    async fn ping_pong(&mut self, budget: &Budget, log: &mut Timeline) -> Result<(), CheckError> {
        let payload = self.next_ping_payload();
        let limit = budget.step(self.spec.timeout);
        let sent_at = Instant::now();
        self.send(Message::Ping(payload.clone().into()), limit, Phase::Open)
            .await?;
        log.event(Phase::Open, "ping sent");
        loop {
            // From the wire: held messages wait for the script.
            match self
                .recv_wire(limit.saturating_sub(sent_at.elapsed()), Phase::Open)
                .await?
            {
                Incoming::Message(Message::Pong(p)) if p[..] == payload[..] => {
                    self.last_frame = Instant::now();
                    log.event(
                        Phase::Open,
                        format!(
                            "pong received after {:.2} ms",
                            ms_between(sent_at, Instant::now())
                        ),
                    );
                    return Ok(());
                }
                Incoming::Message(Message::Close(frame)) => {
                    return Err(self
                        .server_close_frame(Phase::Open, frame, false, budget)
                        .await);
                }
                Incoming::Message(other @ (Message::Text(_) | Message::Binary(_))) => {
                    // Noted in the timeline when the script reads it.
                    self.last_frame = Instant::now();
                    if let Err(dropped) = self.hold_for_script(other) {
                        self.note_other(&dropped, log);
                    }
                }
                Incoming::Message(other) => self.note_other(&other, log),
                Incoming::Ended(e) => return Err(self.ended(Phase::Open, e, false)),
                Incoming::TimedOut => {
                    return Err(self.timeout(Phase::Open, Awaited::Pong, limit));
                }
            }
        }
    }

    /// The `open` phase: ping, the script, hold.
    async fn open(
        &mut self,
        budget: &mut Budget,
        log: &mut Timeline,
        stop: &CancellationToken,
        script: &mut ScriptState,
    ) -> Result<(), CheckError> {
        if self.spec.ping {
            self.ping_pong(budget, log).await?;
        }
        let spec = self.spec;
        self.run_steps(&spec.steps, budget, log, script).await?;
        if self.close.is_some() {
            // An `expect_close` step saw the server close: nothing to hold.
            return Ok(());
        }
        if let Some(hold) = self.spec.hold {
            self.hold(hold, budget, log, stop).await?;
        }
        Ok(())
    }

    /// Stay connected for `hold`, pinging every `ping_every`; every ping must be
    /// answered within the timeout. Held time does not count against the budget.
    async fn hold(
        &mut self,
        hold: Duration,
        budget: &mut Budget,
        log: &mut Timeline,
        stop: &CancellationToken,
    ) -> Result<(), CheckError> {
        let start = Instant::now();
        let end = start + hold;
        log.event(
            Phase::Open,
            format!("holding for {}", humantime::format_duration(hold)),
        );
        let every = self.spec.ping_every;
        let mut next_ping = every.map(|d| start + d);
        let mut waiting: Option<(Vec<u8>, Instant, Instant)> = None; // payload, sent, deadline
        let mut pongs = 0u32;
        let result = loop {
            let now = Instant::now();
            if now >= end && waiting.is_none() {
                break Ok(());
            }
            if let Some((_, _, deadline)) = &waiting
                && now >= *deadline
            {
                break Err(self.timeout(Phase::Open, Awaited::PongWhileHolding, self.spec.timeout));
            }
            if waiting.is_none() && now < end && next_ping.is_some_and(|t| now >= t) {
                let payload = self.next_ping_payload();
                if let Err(e) = self
                    .send(
                        Message::Ping(payload.clone().into()),
                        self.spec.timeout,
                        Phase::Open,
                    )
                    .await
                {
                    break Err(mark_held(e));
                }
                waiting = Some((payload, now, now + self.spec.timeout));
                next_ping = every.map(|d| now + d);
                continue;
            }
            let mut wake = end;
            if let Some((_, _, deadline)) = &waiting {
                wake = *deadline;
            } else if let Some(t) = next_ping {
                wake = wake.min(t);
            }
            let incoming = tokio::select! {
                incoming = self.recv(wake.saturating_duration_since(now), Phase::Open) => incoming,
                _ = stop.cancelled() => {
                    log.event(Phase::Open, "hold cut short: wsprobe is stopping");
                    break Ok(());
                }
            };
            let incoming = match incoming {
                Ok(incoming) => incoming,
                Err(e) => break Err(e),
            };
            match incoming {
                Incoming::TimedOut => {}
                Incoming::Message(Message::Pong(p)) => {
                    self.last_frame = Instant::now();
                    if let Some((payload, sent, _)) = &waiting
                        && p[..] == payload[..]
                    {
                        pongs += 1;
                        if pongs <= 3 {
                            log.event(
                                Phase::Open,
                                format!(
                                    "pong received after {:.2} ms while holding",
                                    ms_between(*sent, Instant::now())
                                ),
                            );
                        }
                        waiting = None;
                    }
                }
                Incoming::Message(Message::Close(frame)) => {
                    break Err(self
                        .server_close_frame(Phase::Open, frame, true, budget)
                        .await);
                }
                Incoming::Message(other) => self.note_other(&other, log),
                Incoming::Ended(e) => break Err(self.ended(Phase::Open, e, true)),
            }
        };
        budget.exclude(hold.min(start.elapsed()));
        if result.is_ok() {
            log.event(
                Phase::Open,
                format!(
                    "held for {} with {pongs} ping/pong exchanges",
                    humantime::format_duration(hold)
                ),
            );
        }
        result
    }
}

fn mark_held(mut err: CheckError) -> CheckError {
    if let CheckError::EarlyFin { while_held, .. } = &mut err {
        *while_held = true;
    }
    err
}
