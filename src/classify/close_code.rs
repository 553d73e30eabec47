//! The hint for a server's Close frame, by what its code means
//! ([`CloseCategory`]): the registered codes one by one, then the reserved,
//! library and application ranges.

use crate::check::close_code::CloseCategory;

/// The hint for a Close frame with `code` (`None`: an empty Close frame).
pub(super) fn hint(code: Option<u16>) -> String {
    let Some(c) = code else {
        return "The server sent an empty Close frame: it ended the session deliberately but gave no code.".into();
    };
    use CloseCategory as C;
    match CloseCategory::of(c) {
        C::Normal => "The server ended the session normally (1000), earlier than the check expected: it closes idle or unauthenticated clients.".into(),
        C::GoingAway => "The server is going away (1001): a deploy, restart or scale-in drained this connection; clients should reconnect with backoff.".into(),
        C::ProtocolError => "The server says the client broke the protocol (1002): a proxy mangling frames on the way, or a server stricter than RFC 6455.".into(),
        C::UnsupportedData => "The server cannot accept the kind of data it received (1003): a text message to a binary-only endpoint or the reverse (check --send).".into(),
        C::InvalidPayload => "The server rejected a message whose data does not fit its type (1007): text that is not UTF-8, or a payload its application protocol refuses (check --send).".into(),
        C::PolicyViolation => "The server closed for a policy violation (1008): authentication, origin or message checks failed after the upgrade; check the token, --header and Origin the monitor sends.".into(),
        C::MessageTooBig => "The server closed because a message was too big for it (1009): its message size limit is below what was sent.".into(),
        C::MandatoryExtension => "The server sent 1010, a code meant for clients whose required extension was not negotiated: a server bug, or a proxy relaying another client's close.".into(),
        C::InternalError => "The server hit an internal error (1011) while handling the session: see its logs.".into(),
        C::ServiceRestart => "The service is restarting (1012): a deploy or restart; clients should reconnect after a short delay.".into(),
        C::TryAgainLater => "The server is overloaded and asks clients to try again later (1013): capacity, connection or rate limits.".into(),
        C::BadGateway => "A gateway or proxy in front of the service got an invalid response from upstream (1014): the backend behind it is failing.".into(),
        C::MustNotBeSent => format!("The server sent code {c}, which RFC 6455 reserves for reporting and forbids in a Close frame (1005 no status, 1006 abnormal closure, 1015 TLS failure): a server or proxy bug; strict clients fail the connection."),
        C::Reserved => format!("The server sent code {c}, reserved by RFC 6455 and not assigned: a server bug or a non-standard library."),
        C::Library => format!("The server closed with code {c}, in the range registered for libraries and frameworks (3000–3999): see the reason and the framework's documentation."),
        C::Application => format!("The server closed with application-defined code {c} (4000–4999, private use): its meaning is the application's own; see the reason and the application's close codes."),
        C::OutOfRange => format!("The server sent {c}, which is not a close code (they run from 1000 to 4999): a server bug; strict clients fail the connection."),
    }
}
