//! A live WebSocket after a valid 101 and what the check knows about it: the
//! bounded reads and writes every later phase uses, with the decision between
//! early_fin and protocol_error when the stream ends. The phases that drive it
//! are [`open`](super::phase::open) and [`close`](super::phase::close).

use super::budget::Budget;
use super::close_watch::{RawClose, escape_bytes};
use super::error::CheckError;
use super::failure::{Awaited, ProtocolRule};
use super::flood::{ControlFrame, ControlFrameCounter, MAX_CONTROL_FRAMES_PER_SECOND};
use super::model::{CloseFrameInfo, CloseInfo, Closer, Phase};
use super::spec::CheckSpec;
use super::stream::Tap;
use super::timeline::{Timeline, ms_between};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Error as WsError, Message};

/// Longest wait for the server's FIN after a completed closing handshake.
pub(in crate::check) const FIN_WAIT: Duration = Duration::from_secs(2);

/// What one read produced.
pub(in crate::check) enum Incoming {
    Message(Message),
    /// The stream ended; with the library's error when there was one.
    Ended(Option<WsError>),
    TimedOut,
}

/// A live WebSocket and what the check knows about it.
pub struct Session<'a> {
    pub(in crate::check) ws: WebSocketStream<Tap>,
    pub(in crate::check) spec: &'a CheckSpec,
    pub(in crate::check) upgraded_at: Instant,
    pub(in crate::check) last_frame: Instant,
    pub(in crate::check) ping_seq: u32,
    pub(in crate::check) control_frames: ControlFrameCounter,
    /// How the connection ended, once it did.
    pub close: Option<CloseInfo>,
    /// Data messages that arrived while the first ping awaited its pong,
    /// returned by [`Session::recv`] before reading on, so a server that
    /// speaks first (Socket.IO's OPEN, a greeting) is seen by the script.
    /// At most [`HELD_MESSAGES`]; later ones are only noted.
    held: VecDeque<Message>,
}

/// How many early data messages a session keeps for its script.
pub(in crate::check) const HELD_MESSAGES: usize = 16;

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
            held: VecDeque::new(),
        }
    }

    /// Keep an early data message for the script (see `held`); the message
    /// back when the bound is reached.
    pub(in crate::check) fn hold_for_script(&mut self, msg: Message) -> Result<(), Message> {
        if self.held.len() == HELD_MESSAGES {
            return Err(msg);
        }
        self.held.push_back(msg);
        Ok(())
    }

    /// Bytes written and read on the connection.
    pub fn bytes(&self) -> (u64, u64) {
        let tap = self.ws.get_ref();
        (tap.sent(), tap.received())
    }

    /// The next message: a held one first, else one read within `limit`.
    pub(in crate::check) async fn recv(
        &mut self,
        limit: Duration,
        phase: Phase,
    ) -> Result<Incoming, CheckError> {
        match self.held.pop_front() {
            Some(msg) => Ok(Incoming::Message(msg)),
            None => self.recv_wire(limit, phase).await,
        }
    }

    /// Read one message within `limit`; a control-frame flood is an error here,
    /// so no phase can be kept busy answering pings.
    pub(in crate::check) async fn recv_wire(
        &mut self,
        limit: Duration,
        phase: Phase,
    ) -> Result<Incoming, CheckError> {
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

    pub(in crate::check) async fn send(
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

    pub(in crate::check) fn timeout(
        &self,
        phase: Phase,
        awaited: Awaited,
        limit: Duration,
    ) -> CheckError {
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
    pub(in crate::check) fn ended(
        &mut self,
        phase: Phase,
        err: Option<WsError>,
        while_held: bool,
    ) -> CheckError {
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
            // tungstenite says the same for a text message and a Close
            // reason: the Close frame as sent tells them apart.
            Some(WsError::Utf8(e)) => Some(match self.ws.get_ref().server_close() {
                Some(RawClose {
                    code: Some(code),
                    reason,
                }) if std::str::from_utf8(&reason).is_err() => ProtocolRule::InvalidCloseReason {
                    code,
                    reason_bytes: escape_bytes(&reason),
                },
                _ => ProtocolRule::InvalidUtf8 {
                    detail: e.to_string(),
                },
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

    pub(in crate::check) fn server_closed(
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
    pub(in crate::check) async fn server_close_frame(
        &mut self,
        phase: Phase,
        frame: Option<CloseFrame>,
        while_held: bool,
        budget: &Budget,
    ) -> CheckError {
        let info = self.frame_info(frame);
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

    pub(in crate::check) fn next_ping_payload(&mut self) -> Vec<u8> {
        self.ping_seq += 1;
        format!("wsprobe-{}", self.ping_seq).into_bytes()
    }

    pub(in crate::check) fn note_other(&mut self, msg: &Message, log: &mut Timeline) {
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
}

impl Session<'_> {
    /// The server's Close frame as it sent it: tungstenite's `frame` has a
    /// code that must not be sent replaced by 1002, so the wire decides.
    pub(in crate::check) fn frame_info(&self, frame: Option<CloseFrame>) -> CloseFrameInfo {
        match (self.ws.get_ref().server_close(), frame) {
            (Some(raw), _) => {
                CloseFrameInfo::new(raw.code, String::from_utf8_lossy(&raw.reason).into_owned())
            }
            (None, Some(f)) => CloseFrameInfo::new(Some(u16::from(f.code)), f.reason.to_string()),
            (None, None) => CloseFrameInfo::new(None, String::new()),
        }
    }
}
