//! The control-frame flood guard: how many pings and pongs the server may send
//! before the check calls it a flood.
//!
//! tungstenite answers every ping by itself and, with a bounded write buffer,
//! keeps at most one unsent pong, so a flood no longer costs memory. It still
//! costs time and CPU, and a server that sends hundreds of control frames a
//! second is broken (or hostile): the check fails with what it did as evidence
//! rather than spending its whole timeout answering pings.

use std::time::{Duration, Instant};

/// Most control frames (pings and pongs) the server may send in one second.
/// Heartbeats come every few seconds; even an eager server sends a handful a
/// second. A hundred leaves room for bursts and none for a loop.
pub const MAX_CONTROL_FRAMES_PER_SECOND: u32 = 100;

/// The window the limit applies to.
const WINDOW: Duration = Duration::from_secs(1);

/// A control frame received from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlFrame {
    /// A ping (tungstenite answers it).
    Ping,
    /// A pong (ours or unsolicited).
    Pong,
}

/// What the server did when it went over the limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Flood {
    /// Control frames received in the window that broke the limit.
    pub frames: u32,
    /// How long that window had lasted, in ms.
    pub within_ms: f64,
    /// Pings received since the upgrade.
    pub pings: u64,
    /// Pongs received since the upgrade.
    pub pongs: u64,
}

/// Counts control frames in fixed one-second windows.
#[derive(Debug)]
pub struct ControlFrameCounter {
    window_start: Instant,
    in_window: u32,
    pings: u64,
    pongs: u64,
}

impl ControlFrameCounter {
    /// A counter whose first window starts at `now`.
    pub fn new(now: Instant) -> ControlFrameCounter {
        ControlFrameCounter {
            window_start: now,
            in_window: 0,
            pings: 0,
            pongs: 0,
        }
    }

    /// Count one frame received at `now`; `Some` once the server is over the limit.
    pub fn note(&mut self, frame: ControlFrame, now: Instant) -> Option<Flood> {
        match frame {
            ControlFrame::Ping => self.pings += 1,
            ControlFrame::Pong => self.pongs += 1,
        }
        if now.saturating_duration_since(self.window_start) >= WINDOW {
            self.window_start = now;
            self.in_window = 0;
        }
        self.in_window += 1;
        (self.in_window > MAX_CONTROL_FRAMES_PER_SECOND).then(|| Flood {
            frames: self.in_window,
            within_ms: super::timeline::ms_between(self.window_start, now),
            pings: self.pings,
            pongs: self.pongs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_over_the_limit_within_one_second_is_a_flood() {
        let start = Instant::now();
        let mut counter = ControlFrameCounter::new(start);
        for i in 0..MAX_CONTROL_FRAMES_PER_SECOND {
            let at = start + Duration::from_millis(u64::from(i));
            assert_eq!(counter.note(ControlFrame::Ping, at), None, "frame {i}");
        }
        let at = start + Duration::from_millis(500);
        let flood = counter.note(ControlFrame::Pong, at).expect("a flood");
        assert_eq!(flood.frames, MAX_CONTROL_FRAMES_PER_SECOND + 1);
        assert_eq!((flood.pings, flood.pongs), (100, 1));
        assert_eq!(flood.within_ms, 500.0);
    }

    #[test]
    fn the_limit_applies_per_second_so_steady_heartbeats_never_trip_it() {
        let start = Instant::now();
        let mut counter = ControlFrameCounter::new(start);
        // A server pinging 50 times a second for a minute stays under the limit.
        for i in 0..3000u64 {
            let at = start + Duration::from_millis(i * 20);
            assert_eq!(counter.note(ControlFrame::Ping, at), None, "frame {i}");
        }
    }
}
