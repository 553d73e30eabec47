//! The idempotency key of one delivery. The outbox delivers at least once:
//! the process can die between the receiver's acceptance and the outbox
//! update, and the next attempt sends the alert again. Every attempt of one
//! outbox row carries the same key (webhook `Idempotency-Key` and
//! `X-Wsprobe-Delivery` headers, `delivery_id` in the body, the email
//! `Message-ID`), so a receiver can drop the duplicate.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// Hex digits kept from the digest: 128 bits, so keys of different rows
/// never collide in practice.
const KEY_HEX: usize = 32;

/// A stable key naming one delivery (one notification through one channel).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryId(String);

impl DeliveryId {
    /// The key of outbox row `row_id`, enqueued for `channel` at `created_at`.
    /// The row's id alone would repeat after the state file is recreated
    /// (ids start again at 1) and a receiver would drop new alerts as
    /// duplicates; mixing in the channel and the creation time keeps keys of
    /// different rows apart while every retry of one row keeps its key.
    pub fn for_outbox_row(row_id: i64, channel: &str, created_at: DateTime<Utc>) -> DeliveryId {
        let mut h = Sha256::new();
        h.update(row_id.to_be_bytes());
        h.update(created_at.timestamp_micros().to_be_bytes());
        h.update(channel.as_bytes());
        let digest = hex::encode(h.finalize());
        DeliveryId(format!("wsp-{}", &digest[..KEY_HEX]))
    }

    /// The key of a grouped delivery: derived from every member row, so a
    /// group retried with the same rows keeps its key, and a group whose
    /// rows changed (a new member joined a retry) gets another — a receiver
    /// that drops keys it has seen never drops an alert it has not.
    pub fn for_group(rows: &[(i64, DateTime<Utc>)], channel: &str) -> DeliveryId {
        let mut rows = rows.to_vec();
        rows.sort();
        let mut h = Sha256::new();
        h.update(b"group");
        for (id, created_at) in rows {
            h.update(id.to_be_bytes());
            h.update(created_at.timestamp_micros().to_be_bytes());
        }
        h.update(channel.as_bytes());
        let digest = hex::encode(h.finalize());
        DeliveryId(format!("wsp-{}", &digest[..KEY_HEX]))
    }

    /// A fresh key for a delivery that has no outbox row (`wsprobe alert-test`).
    pub fn one_off() -> DeliveryId {
        DeliveryId(format!("wsp-test-{:032x}", rand::random::<u128>()))
    }

    /// The key as sent: `wsp-` and hex digits, safe in a header, a JSON
    /// string and the local part of a Message-ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn one_row_always_gets_the_same_key_and_other_rows_other_keys() {
        let key = DeliveryId::for_outbox_row(7, "oncall", at(1_000));
        assert_eq!(key, DeliveryId::for_outbox_row(7, "oncall", at(1_000)));
        let others = [
            DeliveryId::for_outbox_row(8, "oncall", at(1_000)),
            DeliveryId::for_outbox_row(7, "hook", at(1_000)),
            // The same id in a recreated state file, later.
            DeliveryId::for_outbox_row(7, "oncall", at(2_000)),
        ];
        for other in &others {
            assert_ne!(&key, other);
        }
        assert!(key.as_str().starts_with("wsp-"), "{key}");
        assert_eq!(key.as_str().len(), 4 + KEY_HEX);
        assert!(key.as_str()[4..].chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn a_group_keeps_its_key_for_the_same_rows_and_changes_it_when_a_row_joins() {
        let rows = [(3, at(1_000)), (1, at(999))];
        let key = DeliveryId::for_group(&rows, "hook");
        let reordered = [(1, at(999)), (3, at(1_000))];
        assert_eq!(key, DeliveryId::for_group(&reordered, "hook"));
        let grown = [(1, at(999)), (3, at(1_000)), (4, at(1_001))];
        assert_ne!(key, DeliveryId::for_group(&grown, "hook"));
        assert_ne!(key, DeliveryId::for_outbox_row(1, "hook", at(999)));
        assert_ne!(key, DeliveryId::for_group(&rows, "chat"));
    }

    #[test]
    fn one_off_keys_differ_from_each_other() {
        assert_ne!(DeliveryId::one_off(), DeliveryId::one_off());
    }
}
