//! Monitor state: the up/down machine, thresholds and reminders, and the
//! durable store (SQLite) with the alert outbox.
//!
//! * [`policy`]: thresholds and the reminder interval of one monitor
//! * [`machine`]: pure — one run in, the next [`MonitorState`] and at most one
//!   [`Notification`](crate::notification::Notification) out
//! * [`store`]: SQLite — states, result history and the outbox, written together
//!   in one transaction per run; one daemon per file (a lock); kept in memory
//!   and delivered from there while the disk refuses writes

pub mod machine;
pub mod policy;
pub mod store;

pub use machine::{Health, Incident, MonitorState, RunOutcome, RunSummary, apply, reminder_due};
pub use policy::Policy;
pub use store::{
    Delivery, Durability, ResultPoint, ResultRow, Store, StoreError, StoreHealth, retry_backoff,
};
