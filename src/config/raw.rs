//! The file's shape as serde types: what may be written where. Leaves keep
//! their position ([`At`]) and most stay strings until validation, so a bad
//! duration or URL is one collected error rather than the end of decoding.

use super::de::{At, Pairs};
use serde::Deserialize;

/// Top-level keys of the file.
pub(crate) const TOP_KEYS: [&str; 7] = [
    "settings",
    "maintenance",
    "allow_probe_targets",
    "modules",
    "defaults",
    "monitors",
    "channels",
];

/// `settings:`: daemon-wide.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSettings {
    pub concurrency: Option<At<usize>>,
    pub jitter: Option<At<String>>,
    pub state: Option<At<String>>,
    pub retention: Option<At<String>>,
    pub listen: Option<At<String>>,
    pub shutdown_grace: Option<At<String>>,
    pub overdue_after: Option<At<String>>,
    pub cluster: Option<RawCluster>,
    pub heartbeat_url: Option<At<String>>,
    pub heartbeat_every: Option<At<String>>,
    pub location: Option<At<String>>,
    pub public_url: Option<At<String>>,
    pub base_path: Option<At<String>>,
    pub http: Option<RawHttp>,
    pub location_alert: Option<Vec<At<String>>>,
    pub group_window: Option<At<String>>,
}

/// `settings.http`: who may use the HTTP surface.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    /// Kept when written empty (`auth:`), which must be an error rather
    /// than a surface left open by a half-written block.
    #[serde(default, deserialize_with = "super::de::written")]
    pub auth: Option<At<Option<RawAuth>>>,
    #[serde(default, deserialize_with = "super::de::written")]
    pub allowed_hosts: Option<At<Option<Vec<At<String>>>>>,
}

/// `settings.http.auth`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    pub bearer_token: Option<At<String>>,
    pub basic: Option<RawBasic>,
}

/// `settings.http.auth.basic`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBasic {
    pub user: At<String>,
    pub password: At<String>,
}

/// `settings.cluster`: membership timing of instances sharing a store.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCluster {
    pub heartbeat: Option<At<String>>,
    pub lease: Option<At<String>>,
    pub delivery_lease: Option<At<String>>,
}

/// One maintenance window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWindow {
    pub start: At<String>,
    pub duration: At<String>,
    pub label: Option<At<String>>,
}

/// The keys only a monitor has.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMonitorOwn {
    pub name: At<String>,
    pub url: At<String>,
    pub maintenance: Option<Vec<RawWindow>>,
    pub depends_on: Option<Vec<At<String>>>,
}

/// When a monitor runs and whom it alerts: set per monitor or in `defaults`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerting {
    pub schedule: Option<At<String>>,
    pub alert: Option<Vec<At<String>>>,
    pub failure_threshold: Option<At<u32>>,
    pub success_threshold: Option<At<u32>>,
    pub repeat: Option<At<String>>,
    pub locations: Option<Vec<At<String>>>,
    pub quorum: Option<At<String>>,
    pub labels: Option<Pairs>,
}

impl RawAlerting {
    /// Keys set here win; the rest come from `fallback`. Labels merge name
    /// by name, the ones set here winning.
    pub fn or(self, fallback: &RawAlerting) -> RawAlerting {
        let f = fallback.clone();
        RawAlerting {
            labels: super::labels::merge(self.labels, f.labels),
            schedule: self.schedule.or(f.schedule),
            alert: self.alert.or(f.alert),
            failure_threshold: self.failure_threshold.or(f.failure_threshold),
            success_threshold: self.success_threshold.or(f.success_threshold),
            repeat: self.repeat.or(f.repeat),
            locations: self.locations.or(f.locations),
            quorum: self.quorum.or(f.quorum),
        }
    }
}

/// The per-check options of `wsprobe check`: in a monitor, `defaults` or a module.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOptions {
    pub timeout: Option<At<String>>,
    pub connect_timeout: Option<At<String>>,
    pub headers: Option<Pairs>,
    pub origin: Option<At<String>>,
    pub subprotocols: Option<Vec<At<String>>>,
    pub ping: Option<At<bool>>,
    pub ping_every: Option<At<String>>,
    pub hold: Option<At<String>>,
    pub send: Option<At<String>>,
    pub expect: Option<At<String>>,
    pub steps: Option<Vec<At<super::steps::RawStep>>>,
    pub protocol: Option<At<String>>,
    pub warning_over: Option<Pairs>,
    pub critical_over: Option<Pairs>,
    pub ca_file: Option<At<String>>,
    pub system_roots: Option<At<bool>>,
    pub cert: Option<At<String>>,
    pub key: Option<At<String>>,
    pub insecure: Option<At<bool>>,
    pub cert_expiry_warn: Option<At<String>>,
    pub resolve: Option<Vec<At<String>>>,
    pub proxy: Option<At<String>>,
    pub retries: Option<At<u32>>,
    pub retry_delay: Option<At<String>>,
    pub max_message_bytes: Option<At<usize>>,
    pub source_address: Option<At<String>>,
}

impl RawOptions {
    /// Keys set here win; the rest come from `fallback`.
    pub fn or(self, fallback: &RawOptions) -> RawOptions {
        let f = fallback.clone();
        RawOptions {
            timeout: self.timeout.or(f.timeout),
            connect_timeout: self.connect_timeout.or(f.connect_timeout),
            headers: self.headers.or(f.headers),
            origin: self.origin.or(f.origin),
            subprotocols: self.subprotocols.or(f.subprotocols),
            ping: self.ping.or(f.ping),
            ping_every: self.ping_every.or(f.ping_every),
            hold: self.hold.or(f.hold),
            send: self.send.or(f.send),
            expect: self.expect.or(f.expect),
            steps: self.steps.or(f.steps),
            warning_over: self.warning_over.or(f.warning_over),
            protocol: self.protocol.or(f.protocol),
            critical_over: self.critical_over.or(f.critical_over),
            ca_file: self.ca_file.or(f.ca_file),
            system_roots: self.system_roots.or(f.system_roots),
            cert: self.cert.or(f.cert),
            key: self.key.or(f.key),
            insecure: self.insecure.or(f.insecure),
            cert_expiry_warn: self.cert_expiry_warn.or(f.cert_expiry_warn),
            resolve: self.resolve.or(f.resolve),
            proxy: self.proxy.or(f.proxy),
            retries: self.retries.or(f.retries),
            retry_delay: self.retry_delay.or(f.retry_delay),
            max_message_bytes: self.max_message_bytes.or(f.max_message_bytes),
            source_address: self.source_address.or(f.source_address),
        }
    }
}

/// The channel types, as written after `type:`.
pub(crate) const CHANNEL_TYPES: [&str; 10] = [
    "email",
    "webhook",
    "file",
    "pagerduty",
    "opsgenie",
    "slack",
    "teams",
    "discord",
    "telegram",
    "alertmanager",
];

/// Template overrides of a channel.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTemplates {
    pub subject: Option<At<String>>,
    pub text: Option<At<String>>,
    pub html: Option<At<String>>,
    pub body: Option<At<String>>,
}

/// `smtp:` of an email channel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSmtp {
    pub host: At<String>,
    pub port: Option<At<u16>>,
    pub security: Option<At<String>>,
    pub username: Option<At<String>>,
    pub password: Option<At<String>>,
    pub timeout: Option<At<String>>,
    pub ca_file: Option<At<String>>,
}

/// `type: email`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEmail {
    #[serde(rename = "type")]
    pub _type: At<String>,
    pub smtp: RawSmtp,
    pub from: At<String>,
    pub to: At<Vec<At<String>>>,
    pub templates: Option<RawTemplates>,
}

/// `type: webhook`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhook {
    #[serde(rename = "type")]
    pub _type: At<String>,
    pub url: At<String>,
    pub headers: Option<Pairs>,
    pub template: Option<At<String>>,
    pub templates: Option<RawTemplates>,
    pub secret: Option<At<String>>,
    pub timeout: Option<At<String>>,
}

/// `type: file`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFileChannel {
    #[serde(rename = "type")]
    pub _type: At<String>,
    pub path: At<String>,
    pub templates: Option<RawTemplates>,
}
