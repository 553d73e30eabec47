//! Monitor state: the up/down machine, thresholds and reminders, and the
//! durable store with the alert outbox.
//!
//! * [`policy`]: thresholds and the reminder interval of one monitor
//! * [`machine`]: pure — one run in, the next [`MonitorState`] and at most one
//!   [`Notification`](crate::notification::Notification) out
//! * [`route`]: pure — which of a monitor's channels get each notification
//!   (`when:` labels and kinds), and escalation (`escalate_after:`)
//! * [`store`]: states, result history and the outbox, written together in
//!   one transaction per run, behind one trait: SQLite (one daemon per file,
//!   kept in memory while the disk refuses writes) or PostgreSQL (a cluster)

pub mod machine;
pub mod policy;
pub mod route;
pub mod store;

pub use machine::{
    Health, Incident, MonitorState, RunOutcome, RunSummary, apply, escalation_due, reminder_due,
};
pub use policy::Policy;
pub use store::{
    Delivery, Durability, ResultPoint, ResultRow, SavedState, Store, StoreError, StoreHealth,
    retry_backoff,
};
