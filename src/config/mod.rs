//! `monitors.yaml` for `wsprobe run`: loaded into a [`Config`] whose monitors,
//! schedules and channels are ready to use, or rejected with every problem
//! found, each as `file:line:column: message`.
//!
//! Loading goes YAML text → positioned tree (`node`) → serde types per section,
//! monitor and channel (`raw`, via `de` and `keys`) → validated values
//! (`options`, `monitor`, `channel`; settings here), with `loader` holding the
//! errors and `env` expanding `${VAR}`. Decoding each piece on its own is what
//! lets one broken monitor leave the errors of the others visible.
//!
//! Paths in the file (state, templates, certificates, file channels) are
//! relative to the config file's directory. `${VAR}` in string values is
//! replaced from the environment; a missing variable is an error.

mod channel;
mod de;
mod dependencies;
mod env;
mod error;
pub mod http;
mod keys;
mod labels;
pub mod listen;
mod loader;
mod locations;
mod monitor;
mod node;
mod oncall;
mod options;
mod raw;
mod route;
mod steps;

pub use channel::DEFAULT_DELIVERY_TIMEOUT;
pub use error::{ConfigError, ConfigErrors};
pub use monitor::DEFAULT_SCHEDULE;

use crate::alert::settings::ChannelConfig;
use crate::check::spec::{CheckOptions, CheckSpec};
use crate::cluster::ClusterSettings;
use crate::schedule::{MaintenanceWindow, Schedule};
use crate::state::policy::Policy;
use crate::state::store::StateLocation;
use de::At;
use loader::Loader;
use node::{Kind, Node};
use raw::{RawSettings, RawWindow, TOP_KEYS};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A validated config. Its `Debug` leaves out check options, which can hold
/// secrets from the environment (e.g. an Authorization header).
#[derive(Clone)]
pub struct Config {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// Daemon-wide settings.
    pub settings: Settings,
    /// The monitors, in file order (at least one).
    pub monitors: Vec<Monitor>,
    /// Alert channels, in file order.
    pub channels: Vec<ChannelConfig>,
    /// Windows that hold back the alerts of every monitor.
    pub maintenance: Vec<MaintenanceWindow>,
    /// Named option sets for ad-hoc probes, over built-in defaults.
    pub modules: BTreeMap<String, CheckOptions>,
    /// Glob patterns of targets ad-hoc probes may reach (kept as written).
    pub allow_probe_targets: Vec<String>,
}

/// Daemon-wide settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Most checks in flight at once.
    pub concurrency: usize,
    /// Random delay of up to this much added to each scheduled start.
    pub jitter: Duration,
    /// Where state, history and the outbox live: a SQLite file, or a
    /// PostgreSQL database shared by a cluster (the CLI's `--state` overrides it).
    pub state: StateLocation,
    /// How long results are kept.
    pub retention: Duration,
    /// Address of the optional HTTP surface.
    pub listen: Option<SocketAddr>,
    /// How long in-flight checks get to finish on shutdown.
    pub shutdown_grace: Duration,
    /// How overdue a check may be before `/healthz` says the daemon is not
    /// scheduling.
    pub overdue_after: Duration,
    /// Heartbeat and lease of instances sharing a PostgreSQL store.
    pub cluster: ClusterSettings,
    /// A dead man's switch pinged every `heartbeat_every` while scheduling
    /// and delivery work, so someone outside learns when wsprobe is down.
    pub heartbeat_url: Option<String>,
    /// How often `heartbeat_url` is pinged.
    pub heartbeat_every: Duration,
    /// The location this daemon checks from (`--location` overrides it).
    pub location: String,
    /// Where people reach the status page; every alert links to its
    /// monitor's page under it.
    pub public_url: Option<url::Url>,
    /// The path prefix the HTTP surface is reached under behind a reverse
    /// proxy (`/wsprobe`), without a trailing slash; empty for none.
    pub base_path: String,
    /// Credentials and `Host` names the HTTP surface requires.
    pub http: http::HttpSettings,
    /// The channels told when a location is degraded: every monitor
    /// checked from it fails there while the other locations see them up.
    pub location_alert: Vec<String>,
    /// Alerts of several monitors produced within this window go to each
    /// channel people read as one grouped notification (`None`: never).
    pub group_window: Option<Duration>,
}

/// Built-in interval of `heartbeat_url` pings: one minute.
pub const DEFAULT_HEARTBEAT_EVERY: Duration = Duration::from_secs(60);

/// Built-in [`Settings`].
pub const DEFAULT_CONCURRENCY: usize = 64;
/// Built-in retention of results: 7 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Built-in shutdown grace.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Built-in allowance before a late check makes `/healthz` fail: 2 minutes.
pub const DEFAULT_OVERDUE_AFTER: Duration = Duration::from_secs(120);

impl Settings {
    /// Built-in settings, for a config file at `path`.
    fn defaults(l: &Loader) -> Settings {
        Settings {
            concurrency: DEFAULT_CONCURRENCY,
            jitter: Duration::ZERO,
            state: StateLocation::Sqlite(l.path("./wsprobe.db")),
            retention: DEFAULT_RETENTION,
            listen: None,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            overdue_after: DEFAULT_OVERDUE_AFTER,
            cluster: ClusterSettings::default(),
            heartbeat_url: None,
            heartbeat_every: DEFAULT_HEARTBEAT_EVERY,
            location: crate::cluster::identity::DEFAULT_LOCATION.into(),
            public_url: None,
            base_path: String::new(),
            http: http::HttpSettings::default(),
            location_alert: Vec::new(),
            group_window: None,
        }
    }
}

/// One monitored endpoint, ready to run. Its `Debug` leaves out the options
/// and spec, which can hold secrets.
#[derive(Clone)]
pub struct Monitor {
    /// Unique name.
    pub name: String,
    /// The URL as configured (after `${VAR}` expansion).
    pub url: String,
    /// Its options: the monitor's keys over `defaults` over built-in defaults.
    pub options: CheckOptions,
    /// The validated check.
    pub spec: Arc<CheckSpec>,
    /// When it runs.
    pub schedule: Schedule,
    /// Names of the channels to alert, all defined in `channels`.
    pub alert: Vec<String>,
    /// Thresholds and reminders.
    pub policy: Policy,
    /// The monitor's own maintenance windows (the global ones are in [`Config`]).
    pub maintenance: Vec<MaintenanceWindow>,
    /// The locations it is checked from; empty: every location with a live
    /// instance.
    pub locations: Vec<String>,
    /// How many of its locations must fail for a round to fail.
    pub quorum: crate::quorum::Quorum,
    /// Monitors it sits behind (`depends_on:`): while one of them is down,
    /// this one's DOWN is held, not sent — the parent's alert already says it.
    pub depends_on: Vec<String>,
    /// `labels:` (its own over `defaults:`): what channels' `when:` match,
    /// and what its alerts carry.
    pub labels: BTreeMap<String, String>,
}

impl Monitor {
    /// Is it checked from `location`?
    pub fn checked_from(&self, location: &str) -> bool {
        self.locations.is_empty() || self.locations.iter().any(|l| l == location)
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("settings", &self.settings)
            .field("monitors", &self.monitors)
            .field("channels", &self.channels)
            .field("maintenance", &self.maintenance)
            .field("modules", &self.modules.keys().collect::<Vec<_>>())
            .field("allow_probe_targets", &self.allow_probe_targets)
            .finish()
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("name", &self.name)
            .field("url", &self.spec.shown_url())
            .field("schedule", &self.schedule.describe())
            .field("alert", &self.alert)
            .field("policy", &self.policy)
            .field("maintenance", &self.maintenance)
            .finish_non_exhaustive()
    }
}

/// Load and validate a config file, expanding `${VAR}` from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read config: {}", loader::io_reason(&e)),
        }])
    })?;
    load_str(&text, path, &|name| std::env::var(name).ok())
}

/// Validate config text as if read from `path` (errors name it; relative
/// paths are taken from its directory), expanding `${VAR}` with `env`.
pub fn load_str(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut l = Loader::new(path, env);
    let config = match node::parse(text) {
        Ok(root) => config(&mut l, &root, path),
        Err((pos, message)) => {
            l.error(pos, format!("invalid YAML: {message}"));
            None
        }
    };
    l.finish(config)
}

fn config(l: &mut Loader, root: &Node, path: &Path) -> Option<Config> {
    match &root.kind {
        Kind::Map(entries) => {
            for (key, _) in entries {
                let name = key.text().unwrap_or_default();
                if !TOP_KEYS.contains(&name) {
                    l.error(key.pos, keys::unknown_key(name, &TOP_KEYS));
                }
            }
        }
        Kind::Null => {
            l.error(
                root.pos,
                "the file is empty: expected a mapping with at least `monitors:`",
            );
            return None;
        }
        _ => {
            l.error(
                root.pos,
                format!(
                    "expected a mapping with at least `monitors:`, found {}",
                    root.found()
                ),
            );
            return None;
        }
    }
    let (channels, channel_names) = channel::channels(l, root.get("channels"));
    let settings = settings(l, root.get("settings"), &channel_names);
    let maintenance = global_windows(l, root.get("maintenance"));
    let allow_probe_targets = root
        .get("allow_probe_targets")
        .and_then(|n| l.decode_section::<Option<Vec<At<String>>>>("allow_probe_targets", n))
        .flatten()
        .map(|list| list.into_iter().map(|s| s.value).collect())
        .unwrap_or_default();
    let modules = modules(l, root.get("modules"));
    let defaults = monitor::defaults(l, root.get("defaults"), &channel_names);
    let monitors = monitors(l, root, &defaults, &channel_names);
    Some(Config {
        path: path.to_path_buf(),
        settings: settings?,
        monitors,
        channels,
        maintenance: maintenance?,
        modules: modules?,
        allow_probe_targets,
    })
}

fn monitors(
    l: &mut Loader,
    root: &Node,
    defaults: &monitor::Defaults,
    channels: &[String],
) -> Vec<Monitor> {
    let Some(node) = root.get("monitors") else {
        l.error(root.pos, "missing required key `monitors`");
        return Vec::new();
    };
    let items = match &node.kind {
        Kind::Seq(items) if !items.is_empty() => items,
        Kind::Seq(_) | Kind::Null => {
            l.key_error(node.pos, "monitors", "at least one monitor is required");
            return Vec::new();
        }
        _ => {
            l.key_error(
                node.pos,
                "monitors",
                format!("expected a list of monitors, found {}", node.found()),
            );
            return Vec::new();
        }
    };
    let mut tls = options::TlsCache::default();
    let mut names = HashMap::new();
    let mut dependencies = Vec::new();
    let mut cx = monitor::MonitorContext {
        defaults,
        channels,
        tls: &mut tls,
        names: &mut names,
        dependencies: &mut dependencies,
    };
    // Sized up front: a `filter_map` gives no size hint, so collecting would
    // double the capacity as it grows and keep up to twice the monitors'
    // memory for the daemon's whole life (about 5 MB at 10,000 monitors).
    let mut monitors = Vec::with_capacity(items.len());
    monitors.extend(
        items
            .iter()
            .filter_map(|item| monitor::monitor(l, item, &mut cx)),
    );
    dependencies::check(l, &names, &dependencies);
    monitors
}

fn settings(l: &mut Loader, node: Option<&Node>, channels: &[String]) -> Option<Settings> {
    let mut s = Settings::defaults(l);
    let Some(node) = node else {
        return Some(s);
    };
    let raw: RawSettings = l.decode_section("settings", node)?;
    let before = l.error_count();
    if let Some(d) = raw
        .group_window
        .as_ref()
        .and_then(|v| l.duration("group_window", v))
    {
        // 0s writes grouping off explicitly.
        s.group_window = Some(d).filter(|d| !d.is_zero());
    }
    if let Some(names) = &raw.location_alert {
        s.location_alert = monitor::alert_channels(l, "location_alert", names, channels);
    }
    if let Some(c) = &raw.concurrency {
        if c.value == 0 {
            l.key_error(c.pos, "concurrency", "must be at least 1, found 0");
        }
        s.concurrency = c.value;
    }
    if let Some(d) = raw.jitter.as_ref().and_then(|v| l.duration("jitter", v)) {
        s.jitter = d;
    }
    if let Some(v) = &raw.state
        && let Some(text) = l.text("state", v)
    {
        match StateLocation::parse_with(&text.value, l.env()) {
            // A path is taken from the config file's directory, as every path.
            Ok(StateLocation::Sqlite(path)) => {
                s.state = StateLocation::Sqlite(l.path(&path.to_string_lossy()));
            }
            Ok(location) => s.state = location,
            Err(reason) => l.key_error(v.pos, "state", format!("{reason}{}", text.source_note())),
        }
    }
    if let Some(d) = raw
        .retention
        .as_ref()
        .and_then(|v| l.positive_duration("retention", v))
    {
        s.retention = d;
    }
    if let Some(listen) = &raw.listen {
        match listen::parse(&listen.value) {
            Ok(addr) => s.listen = Some(addr),
            Err(reason) => l.key_error(listen.pos, "listen", reason),
        }
    }
    if let Some(d) = raw
        .shutdown_grace
        .as_ref()
        .and_then(|v| l.duration("shutdown_grace", v))
    {
        s.shutdown_grace = d;
    }
    if let Some(d) = raw
        .overdue_after
        .as_ref()
        .and_then(|v| l.positive_duration("overdue_after", v))
    {
        s.overdue_after = d;
    }
    if let Some(c) = &raw.cluster {
        s.cluster = cluster_settings(l, c);
    }
    if let Some(url) = &raw.heartbeat_url {
        s.heartbeat_url = settings_url(l, "heartbeat_url", url);
    }
    if let Some(url) = &raw.public_url {
        s.public_url = settings_url(l, "public_url", url).and_then(|u| url::Url::parse(&u).ok());
    }
    if let Some(path) = raw.base_path.as_ref().and_then(|v| http::base_path(l, v)) {
        s.base_path = path;
    }
    if let Some(h) = raw.http.as_ref().and_then(|h| http::http_settings(l, h)) {
        s.http = h;
    }
    if let Some(location) = raw.location.as_ref().and_then(|v| location(l, v)) {
        s.location = location;
    }
    if let Some(d) = raw
        .heartbeat_every
        .as_ref()
        .and_then(|v| l.positive_duration("heartbeat_every", v))
    {
        s.heartbeat_every = d;
    }
    (l.error_count() == before).then_some(s)
}

fn cluster_settings(l: &mut Loader, raw: &raw::RawCluster) -> ClusterSettings {
    let mut c = ClusterSettings::default();
    let key = |name| format!("cluster.{name}");
    if let Some(d) = raw
        .heartbeat
        .as_ref()
        .and_then(|v| l.positive_duration(&key("heartbeat"), v))
    {
        c.heartbeat = d;
    }
    if let Some(v) = &raw.lease
        && let Some(d) = l.positive_duration(&key("lease"), v)
    {
        // Under two heartbeats, one late heartbeat would count a healthy
        // instance lost and move its monitors.
        if d < c.heartbeat * 2 {
            l.key_error(
                v.pos,
                "cluster.lease",
                format!(
                    "must be at least twice cluster.heartbeat ({}), found {}",
                    humantime::format_duration(c.heartbeat),
                    humantime::format_duration(d)
                ),
            );
        }
        c.lease = d;
    }
    if let Some(d) = raw
        .delivery_lease
        .as_ref()
        .and_then(|v| l.positive_duration(&key("delivery_lease"), v))
    {
        c.delivery_lease = d;
    }
    c
}

fn location(l: &mut Loader, v: &At<String>) -> Option<String> {
    let text = l.text("location", v)?;
    crate::cluster::identity::usable_name(&text.value)
        .map_err(|why| l.key_error(v.pos, "location", why))
        .ok()
}

/// An http(s) URL setting, or an error at its position.
fn settings_url(l: &mut Loader, key: &str, v: &At<String>) -> Option<String> {
    let url = l.text(key, v)?;
    match channel::http_url(&url) {
        Ok(()) => Some(url.value),
        Err(reason) => {
            l.key_error(
                v.pos,
                key,
                format!("invalid URL{}: {reason}", url.source_note()),
            );
            None
        }
    }
}

fn global_windows(l: &mut Loader, node: Option<&Node>) -> Option<Vec<MaintenanceWindow>> {
    let Some(node) = node else {
        return Some(Vec::new());
    };
    let raw: Option<Vec<RawWindow>> = l.decode_section("maintenance", node)?;
    monitor::windows(l, raw.as_deref().unwrap_or_default())
}

fn modules(l: &mut Loader, node: Option<&Node>) -> Option<BTreeMap<String, CheckOptions>> {
    let mut out = BTreeMap::new();
    let Some(node) = node else {
        return Some(out);
    };
    let entries = match &node.kind {
        Kind::Map(entries) => entries,
        Kind::Null => return Some(out),
        _ => {
            l.key_error(
                node.pos,
                "modules",
                format!(
                    "expected a mapping of module names to options, found {}",
                    node.found()
                ),
            );
            return None;
        }
    };
    let before = l.error_count();
    for (key, value) in entries {
        let raw = l.decode_each(value, raw::RawOptions::or);
        let (options, _) = options::check_options(l, &raw);
        out.insert(key.text().unwrap_or_default().to_string(), options);
    }
    (l.error_count() == before).then_some(out)
}
