//! Protocol presets: the handshake and heartbeat of a protocol spoken on top
//! of WebSocket, as steps run by the [`steps`](super::steps) engine before
//! the user's own, each step labelled with the protocol's name for it so a
//! failure says which part of the protocol broke. One module per protocol;
//! adding one is a file, a variant here and its tests.
//! * [`signalr`]: ASP.NET Core SignalR, JSON hub protocol

pub mod signalr;

use super::steps::Step;

/// A protocol preset (`protocol:` / `--protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// SignalR's JSON hub protocol.
    SignalR,
}

impl Protocol {
    /// Every preset, for the error that lists them.
    const ALL: [(&'static str, Protocol); 1] = [("signalr", Protocol::SignalR)];

    /// The preset by its name; the error names every preset.
    pub fn parse(name: &str) -> Result<Protocol, String> {
        Protocol::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
            .ok_or_else(|| {
                let names: Vec<&str> = Protocol::ALL.iter().map(|(n, _)| *n).collect();
                format!("unknown protocol {name:?} (one of: {})", names.join(", "))
            })
    }

    /// The steps that open the protocol, run before the user's own.
    pub fn steps(self) -> Vec<Step> {
        match self {
            Protocol::SignalR => signalr::steps(),
        }
    }
}
