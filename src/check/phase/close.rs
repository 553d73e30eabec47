//! The `close` phase: Close 1000, the server's Close, then its FIN, so the
//! server never logs a 1006; and the polite close after a failed `open`.

use super::{Attempt, finish_session, phase_ms};
use crate::check::budget::Budget;
use crate::check::error::CheckError;
use crate::check::failure::Awaited;
use crate::check::model::{CloseInfo, Closer, PeerEnd, Phase};
use crate::check::session::{FIN_WAIT, Incoming, Session};
use crate::check::timeline::Timeline;
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tungstenite::Message;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;

/// Longest wait for a reply when closing politely after a failure.
const COURTESY_CLOSE_WAIT: Duration = Duration::from_millis(500);

/// Run the `close` phase on `session`.
pub(super) async fn run(a: &mut Attempt<'_>, session: &mut Session<'_>) -> Result<(), CheckError> {
    if session.close.is_some() {
        // The script's `expect_close` already saw the server close cleanly.
        finish_session(session, a.report);
        return Ok(());
    }
    let started = Instant::now();
    let closed = session.close(a.budget, a.log).await;
    a.report.timings.set(Phase::Close, phase_ms(started));
    finish_session(session, a.report);
    closed
}

impl Session<'_> {
    /// The `close` phase: Close 1000, the server's Close, then its FIN.
    async fn close(&mut self, budget: &Budget, log: &mut Timeline) -> Result<(), CheckError> {
        let limit = budget.step(self.spec.timeout);
        let started = Instant::now();
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "wsprobe check complete".into(),
        };
        self.send(Message::Close(Some(frame)), limit, Phase::Close)
            .await?;
        log.event(Phase::Close, "Close 1000 sent");
        let server_frame = loop {
            match self
                .recv(limit.saturating_sub(started.elapsed()), Phase::Close)
                .await?
            {
                Incoming::Message(Message::Close(frame)) => break self.frame_info(frame),
                Incoming::Message(_) => continue,
                Incoming::Ended(e) => return Err(self.ended(Phase::Close, e, false)),
                Incoming::TimedOut => {
                    return Err(self.timeout(Phase::Close, Awaited::CloseReply, limit));
                }
            }
        };
        log.event(
            Phase::Close,
            format!(
                "server's Close {} received",
                server_frame
                    .code
                    .map_or("(no code)".to_string(), |c| c.to_string())
            ),
        );
        let fin_limit = budget.step(self.spec.timeout).min(FIN_WAIT);
        let waited = Instant::now();
        loop {
            match self
                .recv(fin_limit.saturating_sub(waited.elapsed()), Phase::Close)
                .await?
            {
                Incoming::Message(_) => continue,
                Incoming::Ended(_) => break,
                Incoming::TimedOut => {
                    log.event(
                        Phase::Close,
                        format!(
                            "server kept TCP open {} after the closing handshake; wsprobe closed it",
                            humantime::format_duration(fin_limit)
                        ),
                    );
                    break;
                }
            }
        }
        let peer = self.ws.get_ref().peer_end();
        if let Some((end, at)) = peer {
            log.event(
                Phase::Close,
                format!("server closed TCP ({end}) at {at:.2} ms"),
            );
        }
        self.close = Some(CloseInfo {
            initiated_by: Closer::Client,
            server_frame: Some(server_frame),
            peer_end: peer.map(|(e, _)| e),
            peer_end_at_ms: peer.map(|(_, at)| at),
            clean: matches!(peer, Some((PeerEnd::Fin, _))),
        });
        Ok(())
    }

    /// After a failure in `open`, say goodbye properly if the connection still
    /// works, so the server logs a normal close rather than a 1006.
    pub(super) async fn close_politely(&mut self) {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "wsprobe check failed".into(),
        };
        let _ = tokio::time::timeout(COURTESY_CLOSE_WAIT, async {
            if self.ws.send(Message::Close(Some(frame))).await.is_ok() {
                while let Some(Ok(_)) = self.ws.next().await {}
            }
        })
        .await;
    }
}
