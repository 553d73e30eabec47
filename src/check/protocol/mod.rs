//! Protocol presets: the handshake and heartbeat of a protocol spoken on top
//! of WebSocket, as steps run by the [`steps`](super::steps) engine before
//! the user's own, each step labelled with the protocol's name for it so a
//! failure says which part of the protocol broke. One module per protocol;
//! adding one is a file, a variant here and its tests.
//! * [`signalr`]: ASP.NET Core SignalR, JSON hub protocol
//! * [`socketio`]: Socket.IO v5 over Engine.IO v4

pub mod signalr;
pub mod socketio;

use super::steps::Step;

/// A protocol preset (`protocol:` / `--protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// SignalR's JSON hub protocol.
    SignalR,
    /// Socket.IO (Engine.IO v4), default namespace.
    SocketIo,
}

impl Protocol {
    /// Every preset, for the error that lists them.
    const ALL: [(&'static str, Protocol); 2] = [
        ("signalr", Protocol::SignalR),
        ("socketio", Protocol::SocketIo),
    ];

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
            Protocol::SocketIo => socketio::steps(),
        }
    }

    /// The query parameters the protocol needs on the URL, if any.
    fn query(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Protocol::SignalR => &[],
            Protocol::SocketIo => socketio::QUERY,
        }
    }

    /// `resource` (path and query) with each of the protocol's query
    /// parameters the URL does not already set appended; one the URL sets
    /// (`EIO=3` for an older server) is the user's choice and kept.
    pub fn resource(self, resource: &str) -> String {
        let present = |key: &str| {
            resource.split_once('?').is_some_and(|(_, query)| {
                query
                    .split('&')
                    .any(|pair| pair.split('=').next() == Some(key))
            })
        };
        let mut out = resource.to_string();
        for (key, value) in self.query() {
            if !present(key) {
                out.push(if out.contains('?') { '&' } else { '?' });
                out.push_str(&format!("{key}={value}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Protocol;

    #[test]
    fn socketio_adds_the_engine_io_query_to_a_bare_path() {
        assert_eq!(
            Protocol::SocketIo.resource("/socket.io/"),
            "/socket.io/?EIO=4&transport=websocket"
        );
    }

    #[test]
    fn socketio_appends_the_query_to_an_existing_one_once() {
        assert_eq!(
            Protocol::SocketIo.resource("/socket.io/?tenant=a"),
            "/socket.io/?tenant=a&EIO=4&transport=websocket"
        );
        assert_eq!(
            Protocol::SocketIo.resource("/socket.io/?EIO=4&transport=websocket"),
            "/socket.io/?EIO=4&transport=websocket"
        );
    }

    #[test]
    fn socketio_keeps_a_parameter_the_url_sets_and_adds_the_missing_one() {
        assert_eq!(
            Protocol::SocketIo.resource("/socket.io/?EIO=3"),
            "/socket.io/?EIO=3&transport=websocket"
        );
    }

    #[test]
    fn signalr_leaves_the_resource_alone() {
        assert_eq!(Protocol::SignalR.resource("/chat?x=1"), "/chat?x=1");
    }
}
