//! Monitor state: the up/down machine, thresholds and reminders, and the
//! durable store (SQLite) with the alert outbox.

pub mod policy;
