//! Reading a [`CheckError`] back from its JSON. Three variants share the
//! class `protocol_error` on the wire, two `connect_error` and two
//! `local_error` (the class is what consumers key on), so the class alone
//! cannot say which one was written; the evidence only `MessageTooLarge`,
//! `ControlFlood`, `Proxy` and `SourceAddress` carry does.

use super::error::CheckError;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `deserialize_with` for an `Option<CheckError>` field.
pub fn read_error<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CheckError>, D::Error> {
    let Some(mut value) = Option::<Value>::deserialize(d)? else {
        return Ok(None);
    };
    if let Value::Object(fields) = &mut value {
        // The names these variants are deserialized under (see `CheckError`).
        let variant = match fields.get("class").and_then(Value::as_str) {
            Some("protocol_error") if fields.contains_key("frames") => Some("control_flood"),
            Some("protocol_error") if fields.contains_key("limit_bytes") => {
                Some("message_too_large")
            }
            Some("connect_error") if fields.contains_key("proxy") => Some("proxy_error"),
            Some("local_error") if fields.contains_key("source_address") => {
                Some("source_address_error")
            }
            _ => None,
        };
        if let Some(variant) = variant {
            fields.insert("class".into(), variant.into());
        }
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(D::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Phase;
    use crate::check::failure::{ProtocolRule, ProxyHop, ProxyReply, Socks5Reply};
    use crate::check::source::SourceProblem;
    use serde::Serialize;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Holder {
        #[serde(default, deserialize_with = "read_error")]
        error: Option<CheckError>,
    }

    #[test]
    fn every_variant_sharing_protocol_error_reads_back_as_itself() {
        let errors = [
            CheckError::Protocol {
                phase: Phase::Upgrade,
                rule: ProtocolRule::MissingAccept,
            },
            CheckError::Connect {
                failures: Vec::new(),
            },
            CheckError::Proxy {
                proxy: "http://127.0.0.1:3128".into(),
                hop: ProxyHop::TargetUnreachable {
                    reply: ProxyReply::Socks5 {
                        reply: Socks5Reply::HostUnreachable,
                    },
                },
            },
            CheckError::MessageTooLarge {
                phase: Phase::Open,
                what: "too big".into(),
                limit_bytes: 3000,
            },
            CheckError::ControlFlood {
                phase: Phase::Close,
                frames: 101,
                within_ms: 12.5,
                pings: 101,
                pongs: 0,
                limit_per_second: 100,
            },
            CheckError::Dns {
                host: "nowhere.test".into(),
                reason: "no such host".into(),
            },
            CheckError::SourceAddress {
                source_address: "10.0.0.5".into(),
                problem: SourceProblem::BindFailed {
                    errno: "EACCES".into(),
                    message: "Permission denied".into(),
                },
            },
            CheckError::Local {
                phase: Phase::Connect,
                resource: crate::check::local::LocalResource::EphemeralPorts,
                errno: "EADDRNOTAVAIL".into(),
                message: "Cannot assign requested address".into(),
            },
        ];
        for error in errors {
            let held = Holder { error: Some(error) };
            let json = serde_json::to_value(&held).unwrap();
            assert!(
                !matches!(
                    json["error"]["class"].as_str(),
                    Some(
                        "message_too_large"
                            | "control_flood"
                            | "proxy_error"
                            | "source_address_error"
                    )
                ),
                "{json}"
            );
            assert_eq!(serde_json::from_value::<Holder>(json).unwrap(), held);
        }
        let none: Holder = serde_json::from_str(r#"{"error": null}"#).unwrap();
        assert_eq!(none.error, None);
    }
}
