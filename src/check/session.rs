//! The `open` and `close` phases, on the WebSocket after a valid 101: ping/pong,
//! send/expect, holding with pings, and a closing handshake that waits for the
//! server's Close frame and FIN, so the server never logs a 1006.

use super::budget::Budget;
use super::error::CheckError;
use super::failure::{Awaited, ProtocolRule};
use super::flood::{ControlFrame, ControlFrameCounter, MAX_CONTROL_FRAMES_PER_SECOND};
use super::model::{CloseFrameInfo, CloseInfo, Closer, PeerEnd, Phase};
use super::spec::CheckSpec;
use super::stream::Tap;
use super::timeline::{Timeline, ms_between};
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Error as WsError, Message};

/// Longest wait for the server's FIN after a completed closing handshake.
const FIN_WAIT: Duration = Duration::from_secs(2);
/// Longest wait for a reply when closing politely after a failure.
const COURTESY_CLOSE_WAIT: Duration = Duration::from_millis(500);
/// How much of an unexpected message is kept as evidence.
const MESSAGE_EVIDENCE_BYTES: usize = 512;

/// What one read produced.
enum Incoming {
    Message(Message),
    /// The stream ended; with the library's error when there was one.
    Ended(Option<WsError>),
    TimedOut,
}

/// A live WebSocket and what the check knows about it.
pub struct Session<'a> {
    ws: WebSocketStream<Tap>,
    spec: &'a CheckSpec,
    upgraded_at: Instant,
    last_frame: Instant,
    ping_seq: u32,
    control_frames: ControlFrameCounter,
    /// How the connection ended, once it did.
    pub close: Option<CloseInfo>,
}

impl<'a> Session<'a> {
    /// Start a session on an upgraded stream.
    pub fn new(ws: WebSocketStream<Tap>, spec: &'a CheckSpec) -> Session<'a> {
        let now = Instant::now();
        Session {
            ws,
            spec,
            upgraded_at: now,
            last_frame: now,
            ping_seq: 0,
            control_frames: ControlFrameCounter::new(now),
            close: None,
        }
    }

    /// Bytes written and read on the connection.
    pub fn bytes(&self) -> (u64, u64) {
        let tap = self.ws.get_ref();
        (tap.sent(), tap.received())
    }

    /// Read one message within `limit`; a control-frame flood is an error here,
    /// so no phase can be kept busy answering pings.
    async fn recv(&mut self, limit: Duration, phase: Phase) -> Result<Incoming, CheckError> {
        let incoming = match tokio::time::timeout(limit, self.ws.next()).await {
            Err(_) => Incoming::TimedOut,
            Ok(None) => Incoming::Ended(None),
            Ok(Some(Err(e))) => Incoming::Ended(Some(e)),
            Ok(Some(Ok(m))) => Incoming::Message(m),
        };
        let control = match &incoming {
            Incoming::Message(Message::Ping(_)) => Some(ControlFrame::Ping),
            Incoming::Message(Message::Pong(_)) => Some(ControlFrame::Pong),
            _ => None,
        };
        if let Some(frame) = control
            && let Some(flood) = self.control_frames.note(frame, Instant::now())
        {
            return Err(CheckError::ControlFlood {
                phase,
                frames: flood.frames,
                within_ms: flood.within_ms,
                pings: flood.pings,
                pongs: flood.pongs,
                limit_per_second: MAX_CONTROL_FRAMES_PER_SECOND,
            });
        }
        Ok(incoming)
    }

    async fn send(
        &mut self,
        msg: Message,
        limit: Duration,
        phase: Phase,
    ) -> Result<(), CheckError> {
        let sent_before = self.bytes().0;
        // Header (at most 14 bytes with the mask) plus payload: what must leave.
        let frame_bytes = msg.len() as u64 + 14;
        match tokio::time::timeout(limit, self.ws.send(msg)).await {
            Err(_) => {
                let written = self.bytes().0 - sent_before;
                let mut err = self.timeout(phase, Awaited::FrameWritten, limit);
                if let CheckError::Timeout { detail, .. } = &mut err {
                    *detail = Some(format!(
                        "the server stopped reading: {written} of about {frame_bytes} bytes written, the rest still queued"
                    ));
                }
                Err(err)
            }
            Ok(Err(e)) => Err(self.ended(phase, Some(e), false)),
            Ok(Ok(())) => {
                self.last_frame = Instant::now();
                Ok(())
            }
        }
    }

    fn timeout(&self, phase: Phase, awaited: Awaited, limit: Duration) -> CheckError {
        let (sent, received) = self.bytes();
        CheckError::Timeout {
            phase,
            awaited,
            limit_ms: limit.as_millis() as u64,
            bytes_sent: sent,
            bytes_received: received,
            detail: None,
        }
    }

    /// The stream ended or broke: decide between early_fin and protocol_error.
    fn ended(&mut self, phase: Phase, err: Option<WsError>, while_held: bool) -> CheckError {
        let rule = match err {
            Some(WsError::Capacity(e)) => {
                return CheckError::MessageTooLarge {
                    phase,
                    what: format!(
                        "server sent a message over the {} byte limit ({e})",
                        self.spec.max_message_bytes
                    ),
                    limit_bytes: self.spec.max_message_bytes,
                };
            }
            Some(WsError::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            )) => None,
            Some(WsError::Protocol(p)) => Some(ProtocolRule::InvalidFrame {
                detail: p.to_string(),
            }),
            Some(WsError::Utf8(e)) => Some(ProtocolRule::InvalidUtf8 {
                detail: e.to_string(),
            }),
            Some(WsError::Io(ref e))
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                ) =>
            {
                Some(ProtocolRule::ConnectionFailed {
                    message: super::error::os_message(e),
                })
            }
            _ => None,
        };
        if let Some(rule) = rule {
            return CheckError::Protocol { phase, rule };
        }
        self.server_closed(phase, None, while_held)
    }

    fn server_closed(
        &mut self,
        phase: Phase,
        close_frame: Option<CloseFrameInfo>,
        while_held: bool,
    ) -> CheckError {
        let now = Instant::now();
        let peer = self.ws.get_ref().peer_end();
        self.close = Some(CloseInfo {
            initiated_by: Closer::Server,
            server_frame: close_frame.clone(),
            peer_end: peer.map(|(end, _)| end),
            peer_end_at_ms: peer.map(|(_, at)| at),
            clean: false,
        });
        CheckError::EarlyFin {
            phase,
            peer_end: peer.map(|(end, _)| end),
            close_frame,
            ms_after_101: Some(ms_between(self.upgraded_at, now)),
            idle_ms: Some(ms_between(self.last_frame, now)),
            while_held,
        }
    }

    /// The server sent a Close frame first: let tungstenite answer it, wait
    /// briefly for the FIN, and report who closed.
    async fn server_close_frame(
        &mut self,
        phase: Phase,
        frame: Option<CloseFrame>,
        while_held: bool,
        budget: &Budget,
    ) -> CheckError {
        let info = frame_info(frame);
        let arrived = Instant::now();
        let limit = budget.step(FIN_WAIT);
        while let Ok(Incoming::Message(_)) = self
            .recv(limit.saturating_sub(arrived.elapsed()), phase)
            .await
        {}
        let mut err = self.server_closed(phase, Some(info), while_held);
        if let CheckError::EarlyFin {
            ms_after_101,
            idle_ms,
            ..
        } = &mut err
        {
            // Measure to the Close frame, not to the end of our FIN wait.
            *ms_after_101 = Some(ms_between(self.upgraded_at, arrived));
            *idle_ms = idle_ms.map(|_| ms_between(self.last_frame, arrived));
        }
        err
    }

    /// Send one ping and wait for its pong.
    async fn ping_pong(&mut self, budget: &Budget, log: &mut Timeline) -> Result<(), CheckError> {
        let payload = self.next_ping_payload();
        let limit = budget.step(self.spec.timeout);
        let sent_at = Instant::now();
        self.send(Message::Ping(payload.clone().into()), limit, Phase::Open)
            .await?;
        log.event(Phase::Open, "ping sent");
        loop {
            match self
                .recv(limit.saturating_sub(sent_at.elapsed()), Phase::Open)
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
                Incoming::Message(other) => self.note_other(&other, log),
                Incoming::Ended(e) => return Err(self.ended(Phase::Open, e, false)),
                Incoming::TimedOut => {
                    return Err(self.timeout(Phase::Open, Awaited::Pong, limit));
                }
            }
        }
    }

    fn next_ping_payload(&mut self) -> Vec<u8> {
        self.ping_seq += 1;
        format!("wsprobe-{}", self.ping_seq).into_bytes()
    }

    fn note_other(&mut self, msg: &Message, log: &mut Timeline) {
        self.last_frame = Instant::now();
        let what = match msg {
            Message::Text(t) => format!("text message received ({} bytes)", t.len()),
            Message::Binary(b) => format!("binary message received ({} bytes)", b.len()),
            Message::Ping(_) => "ping received from the server (answered)".to_string(),
            Message::Pong(_) => "unsolicited pong received".to_string(),
            Message::Close(_) | Message::Frame(_) => return,
        };
        log.event(Phase::Open, what);
    }

    /// The `open` phase: ping, send/expect, hold.
    pub async fn open(
        &mut self,
        budget: &mut Budget,
        log: &mut Timeline,
        stop: &CancellationToken,
    ) -> Result<(), CheckError> {
        if self.spec.ping {
            self.ping_pong(budget, log).await?;
        }
        if let Some(text) = self.spec.send.clone() {
            let limit = budget.step(self.spec.timeout);
            let len = text.len();
            self.send(Message::Text(text.into()), limit, Phase::Open)
                .await?;
            log.event(Phase::Open, format!("text message sent ({len} bytes)"));
        }
        if let Some(pattern) = self.spec.expect.clone() {
            self.expect(&pattern, budget, log).await?;
        }
        if let Some(hold) = self.spec.hold {
            self.hold(hold, budget, log, stop).await?;
        }
        Ok(())
    }

    async fn expect(
        &mut self,
        pattern: &regex::Regex,
        budget: &Budget,
        log: &mut Timeline,
    ) -> Result<(), CheckError> {
        let limit = budget.step(self.spec.timeout);
        let started = Instant::now();
        loop {
            let text = match self
                .recv(limit.saturating_sub(started.elapsed()), Phase::Open)
                .await?
            {
                Incoming::Message(Message::Text(t)) => t.to_string(),
                Incoming::Message(Message::Binary(b)) => String::from_utf8_lossy(&b).into_owned(),
                Incoming::Message(Message::Close(frame)) => {
                    return Err(self
                        .server_close_frame(Phase::Open, frame, false, budget)
                        .await);
                }
                Incoming::Message(other) => {
                    self.note_other(&other, log);
                    continue;
                }
                Incoming::Ended(e) => return Err(self.ended(Phase::Open, e, false)),
                Incoming::TimedOut => {
                    let awaited = Awaited::ExpectedMessage {
                        pattern: pattern.as_str().to_string(),
                    };
                    return Err(self.timeout(Phase::Open, awaited, limit));
                }
            };
            self.last_frame = Instant::now();
            if pattern.is_match(&text) {
                log.event(
                    Phase::Open,
                    format!("message matched /{}/", pattern.as_str()),
                );
                return Ok(());
            }
            return Err(CheckError::UnexpectedMessage {
                expected: pattern.as_str().to_string(),
                received: truncate(&text, MESSAGE_EVIDENCE_BYTES),
            });
        }
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

    /// The `close` phase: Close 1000, the server's Close, then its FIN.
    pub async fn close(&mut self, budget: &Budget, log: &mut Timeline) -> Result<(), CheckError> {
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
                Incoming::Message(Message::Close(frame)) => break frame_info(frame),
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
    pub async fn close_politely(&mut self) {
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

fn mark_held(mut err: CheckError) -> CheckError {
    if let CheckError::EarlyFin { while_held, .. } = &mut err {
        *while_held = true;
    }
    err
}

fn frame_info(frame: Option<CloseFrame>) -> CloseFrameInfo {
    match frame {
        Some(f) => CloseFrameInfo {
            code: Some(u16::from(f.code)),
            reason: f.reason.to_string(),
        },
        None => CloseFrameInfo {
            code: None,
            reason: String::new(),
        },
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
