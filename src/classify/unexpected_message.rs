//! `unexpected_message`: the first message did not match `--expect`.

/// The hint for a message that did not match.
pub(super) fn hint() -> String {
    "The endpoint answered, but not what --expect wants: the application returned an error, a different message format or protocol version. Compare the message with the pattern.".into()
}
