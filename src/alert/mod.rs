//! Alert delivery: rendering notifications from templates and delivering them
//! through channels (email, webhook, file) behind one small trait.
//!
//! * [`channel`]: the [`AlertChannel`] trait, [`build_channel`], the errors
//! * [`delivery_id`]: the idempotency key every attempt of one delivery carries
//! * [`render`]: minijinja templates (built-in from `templates/`, or per-channel files)
//! * [`budget`]: the fuel and output cap that bound every render
//! * [`view`]: the values templates see, evidence digested from the report
//! * [`email`], [`webhook`], [`file`]: one channel each; [`smtp`]: the SMTP
//!   session of the email channel, every step under the channel's timeout
//! * [`http`]: the one HTTP POST path of the webhook and the on-call channels
//! * [`oncall`]: PagerDuty, Opsgenie, Slack, Teams, Discord, Telegram and
//!   Alertmanager, a module each, speaking that service's own API
//! * [`sample`]: a realistic notification for trying templates
//! * [`settings`]: validated channel settings, as `config` produces them

pub mod budget;
pub mod channel;
pub mod delivery_id;
pub mod email;
pub mod file;
pub mod group;
pub mod http;
pub mod oncall;

pub mod render;
pub mod sample;
pub mod settings;
pub mod smtp;
pub mod view;
pub mod webhook;

pub use channel::{AlertChannel, AlertError, DeliveryError, build_channel, deliver_within};
pub use delivery_id::DeliveryId;
pub use render::{ChannelKind, Rendered, Renderer};
