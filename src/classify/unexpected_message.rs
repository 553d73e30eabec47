//! `unexpected_message`: a message did not match what a step of the script
//! (`--expect`, `steps:`) expects, or the server closed with another code
//! than an `expect_close` names.

/// The hint for a message that did not match.
pub(super) fn hint() -> String {
    "The endpoint answered, but not what the script expects (--expect, steps:): the application returned an error, a different message format or protocol version, or sent something else first (a greeting, a heartbeat). Compare the message and the last messages received with the step.".into()
}
