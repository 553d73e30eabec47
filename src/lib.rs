//! wsprobe: synthetic health checks for WebSocket endpoints.
//!
//! # Layout
//! * [`check`]: the engine — one endpoint, phase by phase (dns, connect, tls,
//!   upgrade, open, close), returning a [`check::CheckReport`] whose failures are
//!   typed values carrying their evidence.
//! * [`classify`]: pure mapping from a typed failure to its class, phase, message
//!   and the hint an on-call engineer reads; one file per class with its hints.
//!   [`product`]: the proxy, load balancer or CDN an answer names, with its WebSocket
//!   fixes; [`refusal`]: what a refused upgrade's answer says (plain HTTP to a TLS
//!   port, subprotocol required, the credentials wanted).
//! * [`report`]: the typed, versioned report document (`report::document`, its JSON
//!   Schema in `docs/report.schema.json`) and the renderers: text, json, junit, nagios.
//! * [`config`]: monitors.yaml → validated [`config::Config`]; every error is
//!   collected, each with file:line:column.
//! * [`schedule`]: cron / `@every` schedules and maintenance windows (pure).
//! * [`notification`]: what the state machine tells people, with its diagnostics.
//! * [`state`]: up/down machine, thresholds, reminders; the store (SQLite or
//!   PostgreSQL) and outbox.
//! * [`alert`]: rendering from `templates/` and delivery channels.
//! * [`demo`]: local endpoints reproducing classic failures, for `wsprobe demo`.
//! * [`cluster`]: several daemons on one PostgreSQL store: membership,
//!   rendezvous-hash ownership of monitors, fencing.
//! * [`quorum`]: checks from several locations — the pure verdict of a round
//!   (each location's outcome against the monitor's quorum).
//! * [`daemon`]: `wsprobe run`: scheduling monitors, state, outbox dispatch, signals.
//! * [`serve`]: the daemon's HTTP surface: `/metrics`, `/probe`, the JSON API,
//!   health endpoints and the status page.
//! * [`cli`]: argument handling and output for the `wsprobe` binary.

pub mod alert;
pub mod check;
pub mod classify;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod notification;
pub mod product;
pub mod quorum;
pub mod refusal;
pub mod report;
pub mod schedule;
pub mod serve;
pub mod state;
