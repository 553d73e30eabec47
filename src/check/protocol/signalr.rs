//! SignalR over WebSocket with the JSON hub protocol (ASP.NET Core SignalR,
//! `docs/specs/HubProtocol.md` and `TransportProtocols.md` in dotnet/aspnetcore):
//! every message ends with the record separator 0x1E; the client opens with
//! the handshake request `{"protocol":"json","version":1}`, the server answers
//! `{}` (accepted) or `{"error":"…"}` (refused), then either side may send a
//! ping `{"type":6}`. A client may connect straight to the WebSocket when the
//! server skips negotiation (`skipNegotiation`), which is what a probe does.

use crate::check::steps::{Action, Matcher, Payload, Step, Template};

/// The record separator that ends every SignalR JSON message.
const RS: char = '\u{1e}';

/// Handshake, its acknowledgement, a ping.
pub(super) fn steps() -> Vec<Step> {
    let handshake = format!(r#"{{"protocol":"json","version":1}}{RS}"#);
    // The handshake response may share a frame with the messages after it;
    // the separator written as an escape so the step's description shows it.
    let accepted = regex::Regex::new(r"^\{\}\x1e").expect("a fixed regex");
    vec![
        labelled("signalr handshake", send(handshake)),
        labelled(
            "signalr handshake response",
            Action::Expect {
                matcher: Matcher::Regex(accepted),
                captures: Vec::new(),
            },
        ),
        labelled("signalr ping", send(format!(r#"{{"type":6}}{RS}"#))),
    ]
}

fn send(text: String) -> Action {
    Action::Send(Payload::Text(Template::literal(text)))
}

fn labelled(label: &'static str, action: Action) -> Step {
    Step {
        action,
        within: None,
        label: Some(label),
    }
}
