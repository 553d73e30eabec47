//! What a Close frame's status code means, by RFC 6455 §7.4 and the IANA
//! "WebSocket Close Code Number Registry": a category derived from the number,
//! and the registered name where the registry gives one. Hints are chosen
//! from the category, so a code never has to be matched twice.

use super::model::CloseFrameInfo;
use serde::{Deserialize, Serialize};

/// The meaning of a close code, derived from its number alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CloseCategory {
    /// 1000: the purpose of the connection was fulfilled.
    Normal,
    /// 1001: the endpoint is going away (server shutdown, deploy, browser navigating).
    GoingAway,
    /// 1002: the peer broke the protocol.
    ProtocolError,
    /// 1003: a data type the endpoint cannot accept (e.g. binary to a text-only server).
    UnsupportedData,
    /// 1007: a message's data did not match its type (e.g. non-UTF-8 text).
    InvalidPayload,
    /// 1008: a policy was violated (authentication, origin, message rules).
    PolicyViolation,
    /// 1009: a message was too big to process.
    MessageTooBig,
    /// 1010: the client expected an extension the server did not negotiate.
    MandatoryExtension,
    /// 1011: an unexpected condition on the server.
    InternalError,
    /// 1012: the service is restarting.
    ServiceRestart,
    /// 1013: temporary overload; try again later.
    TryAgainLater,
    /// 1014: a gateway or proxy got an invalid response from upstream.
    BadGateway,
    /// 1005, 1006, 1015: codes reserved for reporting, which RFC 6455 §7.4.1
    /// says must never be sent in a Close frame.
    MustNotBeSent,
    /// 1004 and 1016–2999: reserved by the RFC, not assigned.
    Reserved,
    /// 3000–3999: registered with IANA by libraries and frameworks.
    Library,
    /// 4000–4999: private use, defined by the application.
    Application,
    /// 0–999 and 5000 up: not a close code at all.
    OutOfRange,
}

impl CloseCategory {
    /// Every category, for exhaustive tables (tests).
    pub const ALL: [CloseCategory; 17] = [
        CloseCategory::Normal,
        CloseCategory::GoingAway,
        CloseCategory::ProtocolError,
        CloseCategory::UnsupportedData,
        CloseCategory::InvalidPayload,
        CloseCategory::PolicyViolation,
        CloseCategory::MessageTooBig,
        CloseCategory::MandatoryExtension,
        CloseCategory::InternalError,
        CloseCategory::ServiceRestart,
        CloseCategory::TryAgainLater,
        CloseCategory::BadGateway,
        CloseCategory::MustNotBeSent,
        CloseCategory::Reserved,
        CloseCategory::Library,
        CloseCategory::Application,
        CloseCategory::OutOfRange,
    ];

    /// The category of `code`.
    pub fn of(code: u16) -> CloseCategory {
        use CloseCategory as C;
        match code {
            1000 => C::Normal,
            1001 => C::GoingAway,
            1002 => C::ProtocolError,
            1003 => C::UnsupportedData,
            1005 | 1006 | 1015 => C::MustNotBeSent,
            1007 => C::InvalidPayload,
            1008 => C::PolicyViolation,
            1009 => C::MessageTooBig,
            1010 => C::MandatoryExtension,
            1011 => C::InternalError,
            1012 => C::ServiceRestart,
            1013 => C::TryAgainLater,
            1014 => C::BadGateway,
            1004 | 1016..=2999 => C::Reserved,
            3000..=3999 => C::Library,
            4000..=4999 => C::Application,
            0..=999 | 5000.. => C::OutOfRange,
        }
    }
}

/// The name the IANA registry gives `code`, when it is one of RFC 6455's or
/// its successors' (1000–1015); library and application codes carry no
/// name we could know.
pub fn registered_name(code: u16) -> Option<&'static str> {
    Some(match code {
        1000 => "Normal Closure",
        1001 => "Going Away",
        1002 => "Protocol error",
        1003 => "Unsupported Data",
        1004 => "Reserved",
        1005 => "No Status Rcvd",
        1006 => "Abnormal Closure",
        1007 => "Invalid frame payload data",
        1008 => "Policy Violation",
        1009 => "Message Too Big",
        1010 => "Mandatory Ext.",
        1011 => "Internal Error",
        1012 => "Service Restart",
        1013 => "Try Again Later",
        1014 => "Bad Gateway",
        1015 => "TLS handshake",
        _ => return None,
    })
}

impl CloseFrameInfo {
    /// A Close frame's evidence: the code with its category and registered name.
    pub fn new(code: Option<u16>, reason: String) -> CloseFrameInfo {
        CloseFrameInfo {
            code,
            reason,
            category: code.map(CloseCategory::of),
            name: code.and_then(registered_name).map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_codes_fall_in_their_categories() {
        use CloseCategory as C;
        let table = [
            (1000, C::Normal),
            (1001, C::GoingAway),
            (1002, C::ProtocolError),
            (1003, C::UnsupportedData),
            (1004, C::Reserved),
            (1005, C::MustNotBeSent),
            (1006, C::MustNotBeSent),
            (1007, C::InvalidPayload),
            (1008, C::PolicyViolation),
            (1009, C::MessageTooBig),
            (1010, C::MandatoryExtension),
            (1011, C::InternalError),
            (1012, C::ServiceRestart),
            (1013, C::TryAgainLater),
            (1014, C::BadGateway),
            (1015, C::MustNotBeSent),
            (1016, C::Reserved),
            (2999, C::Reserved),
            (3000, C::Library),
            (3999, C::Library),
            (4000, C::Application),
            (4001, C::Application),
            (4999, C::Application),
            (5000, C::OutOfRange),
            (999, C::OutOfRange),
            (0, C::OutOfRange),
        ];
        for (code, category) in table {
            assert_eq!(CloseCategory::of(code), category, "{code}");
        }
    }

    #[test]
    fn every_code_of_the_rfc_range_has_a_registered_name_and_no_other_does() {
        for code in 1000..=1015 {
            assert!(registered_name(code).is_some(), "{code}");
        }
        for code in [999, 1016, 3000, 4001, 5000] {
            assert_eq!(registered_name(code), None, "{code}");
        }
    }
}
