//! Socket.IO over WebSocket (Engine.IO protocol v4, Socket.IO protocol v5,
//! `socket.io-protocol` and `engine.io-protocol` on GitHub): the client
//! connects straight to the WebSocket transport with `?EIO=4&transport=websocket`
//! (no HTTP long-polling first, which a probe does not need); the server opens
//! with the Engine.IO OPEN packet `0{"sid":…,"pingInterval":…,"pingTimeout":…}`;
//! the client asks for the default namespace with the Socket.IO CONNECT packet
//! `40`; the server acknowledges with `40{"sid":…}` or refuses with the
//! CONNECT_ERROR packet `44{"message":…}` (a `connect` handler refusing the
//! client, a middleware rejecting it); the client leaves with DISCONNECT `41`.
//!
//! Heartbeat: in Engine.IO v4 the *server* pings (`2`) every `pingInterval`
//! (25 s by default) and the client answers `3`. The preset does not wait for
//! that ping: waiting would make every check last pingInterval, longer than a
//! check's budget; the OPEN packet already proves the Engine.IO layer lives.
//! A script that wants the heartbeat can add `wait:` and an expect of `^2$`.

use crate::check::steps::{Action, Matcher, Payload, Step, Template};

/// The query parameters the Engine.IO WebSocket transport needs on the URL.
pub(super) const QUERY: &[(&str, &str)] = &[("EIO", "4"), ("transport", "websocket")];

/// OPEN, namespace CONNECT and its acknowledgement, DISCONNECT.
pub(super) fn steps() -> Vec<Step> {
    vec![
        labelled("socket.io OPEN", expect(r#"^0\{.*"sid""#)),
        labelled("socket.io namespace CONNECT", send("40")),
        // A refusal (`44{"message":…}`) fails here and is shown as received.
        labelled("socket.io namespace CONNECT ack", expect(r#"^40\{"sid""#)),
        labelled("socket.io DISCONNECT", send("41")),
    ]
}

fn expect(regex: &str) -> Action {
    Action::Expect {
        matcher: Matcher::Regex(regex::Regex::new(regex).expect("a fixed regex")),
        captures: Vec::new(),
    }
}

fn send(text: &str) -> Action {
    Action::Send(Payload::Text(Template::literal(text)))
}

fn labelled(label: &'static str, action: Action) -> Step {
    Step {
        action,
        within: None,
        label: Some(label),
    }
}
