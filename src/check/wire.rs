//! Reading a [`CheckError`] back from its JSON. Three variants share the
//! class `protocol_error` on the wire (the class is what consumers key on),
//! so the class alone cannot say which one was written; the evidence only
//! `MessageTooLarge` and `ControlFlood` carry does.

use super::error::CheckError;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `deserialize_with` for an `Option<CheckError>` field.
pub fn read_error<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CheckError>, D::Error> {
    let Some(mut value) = Option::<Value>::deserialize(d)? else {
        return Ok(None);
    };
    if let Value::Object(fields) = &mut value
        && fields.get("class").and_then(Value::as_str) == Some("protocol_error")
    {
        // The names these variants are deserialized under (see `CheckError`).
        let variant = if fields.contains_key("frames") {
            "control_flood"
        } else if fields.contains_key("limit_bytes") {
            "message_too_large"
        } else {
            "protocol_error"
        };
        fields.insert("class".into(), variant.into());
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(D::Error::custom)
}
