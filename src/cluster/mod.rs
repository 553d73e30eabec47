//! Cluster mode: several `wsprobe run` instances on one shared store
//! (PostgreSQL) split the monitors between them, take over the monitors of
//! an instance that dies, and alert once.
//!
//! * [`rendezvous`]: who owns a monitor, from the live instances alone
//! * [`membership`]: the heartbeat task — beats, reads who else is alive,
//!   moves ownership, fences this instance when it cannot reach the store
//! * [`identity`]: the instance's name (`--instance`, or host name plus a
//!   random suffix) and location (`--location`)
//!
//! Each instance belongs to one location; the instances of a location share
//! its work, so a monitor has one owner per location (chosen among that
//! location's live instances only).
//!
//! With a store only one daemon can use (SQLite), the cluster is this
//! instance alone and it owns every monitor.
//!
//! Ownership is a view each instance computes, not a lock: during a change
//! two instances may both believe they own a monitor for up to a heartbeat.
//! What keeps that harmless is the store: a commit names the state revision
//! it was applied to, so the second writer's run is re-applied to the first
//! one's state instead of forking the incident, and a DOWN or RECOVERED is
//! enqueued once per incident and channel.

pub mod identity;
pub mod membership;
pub mod rendezvous;

use crate::config::Monitor;
use crate::state::store::Member;
use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// `settings.cluster`: how often instances beat and when one counts as lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterSettings {
    /// How often each instance writes its heartbeat.
    pub heartbeat: Duration,
    /// An instance silent for this long is lost; its monitors move.
    pub lease: Duration,
    /// How long a delivery claimed by one instance is left to it before
    /// another may send it (the claimer may have died mid-delivery).
    pub delivery_lease: Duration,
}

/// Built-in heartbeat interval.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(2);
/// Built-in lease.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);
/// Built-in delivery lease: several times any channel's delivery timeout.
pub const DEFAULT_DELIVERY_LEASE: Duration = Duration::from_secs(60);
/// How long a lost instance stays listed in `/api/cluster`.
pub const REMEMBER_LOST: Duration = Duration::from_secs(3600);

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            heartbeat: DEFAULT_HEARTBEAT,
            lease: DEFAULT_LEASE,
            delivery_lease: DEFAULT_DELIVERY_LEASE,
        }
    }
}

impl ClusterSettings {
    /// How long this instance goes on checking without a heartbeat landing:
    /// a heartbeat short of the lease, so it has stopped before anyone else
    /// can count it lost and take its monitors.
    pub fn fence_after(&self) -> Duration {
        self.lease
            .saturating_sub(self.heartbeat)
            .max(self.heartbeat)
    }
}

/// What this instance knows of the cluster.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Live instances, this one included, by name.
    pub live: Vec<Member>,
    /// Instances lost within [`REMEMBER_LOST`].
    pub lost: Vec<Member>,
    /// The monitors this instance owns; `None`: every monitor (one
    /// instance on its own store).
    pub owned: Option<Arc<HashSet<String>>>,
    /// Why this instance checks nothing now (it cannot reach the store).
    pub fenced: Option<String>,
}

/// This instance's membership: its identity, the current view and the
/// figures `/metrics` shows.
#[derive(Debug)]
pub struct Cluster {
    /// This instance's heartbeat row.
    pub me: Member,
    /// Heartbeat interval and lease.
    pub settings: ClusterSettings,
    view: RwLock<View>,
    last_beat: RwLock<Option<Instant>>,
    takeovers: Counter,
    instances: Gauge,
    owned_monitors: Gauge,
    heartbeat_age_ms: Gauge<f64, AtomicU64>,
    /// Bumped whenever ownership changes.
    generation: AtomicU64,
}

impl Cluster {
    /// A cluster of this instance alone, owning every monitor.
    pub fn solo(me: Member) -> Cluster {
        let view = View {
            live: vec![me.clone()],
            ..View::default()
        };
        Cluster {
            me,
            settings: ClusterSettings::default(),
            view: RwLock::new(view),
            last_beat: RwLock::new(None),
            takeovers: Counter::default(),
            instances: Gauge::default(),
            owned_monitors: Gauge::default(),
            heartbeat_age_ms: Gauge::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// A member of a shared store's cluster: it owns nothing until its first
    /// heartbeat has landed and it has seen who else is alive.
    pub fn shared(me: Member, settings: ClusterSettings) -> Cluster {
        let cluster = Cluster {
            settings,
            ..Cluster::solo(me)
        };
        cluster.write_view(|v| {
            v.owned = Some(Arc::default());
            v.fenced = Some("waiting for the first heartbeat".into());
        });
        cluster
    }

    /// Does this instance check `monitor` now?
    pub fn owns(&self, monitor: &str) -> bool {
        let view = self.view.read().unwrap_or_else(|e| e.into_inner());
        view.fenced.is_none() && view.owned.as_ref().is_none_or(|set| set.contains(monitor))
    }

    /// This instance's location (`default` unless `--location` named one).
    pub fn location(&self) -> &str {
        identity::location_of(&self.me)
    }

    /// Does this instance check `monitor` now: it is checked from this
    /// instance's location and this instance owns it there. On one instance
    /// alone, which owns every monitor, the monitor's `locations:` still
    /// decide: a location not listed never checks it.
    pub fn checks(&self, monitor: &Monitor) -> bool {
        monitor.checked_from(self.location()) && self.owns(&monitor.name)
    }

    /// A copy of the current view.
    pub fn view(&self) -> View {
        self.view.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Why this instance checks nothing now, if it does not.
    pub fn fenced(&self) -> Option<String> {
        self.view
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .fenced
            .clone()
    }

    /// How long since this instance's heartbeat last landed (`None`: never,
    /// or one instance alone that does not beat).
    pub fn heartbeat_age(&self) -> Option<Duration> {
        let last = *self.last_beat.read().unwrap_or_else(|e| e.into_inner());
        last.map(|at| at.elapsed())
    }

    /// Bumped whenever the owned set changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Register the cluster's gauges and counter.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "cluster_instances",
            "Live wsprobe instances sharing this state store (1 on its own)",
            self.instances.clone(),
        );
        registry.register(
            "owned_monitors",
            "Monitors this instance checks",
            self.owned_monitors.clone(),
        );
        registry.register(
            "cluster_heartbeat_age_seconds",
            "Seconds since this instance's heartbeat last reached the shared store",
            self.heartbeat_age_ms.clone(),
        );
        registry.register(
            "cluster_takeovers",
            "Monitors this instance took over from an instance that was lost",
            self.takeovers.clone(),
        );
    }

    /// Refresh the gauges that change with time (at scrape).
    pub fn refresh_gauges(&self, monitors: usize) {
        let view = self.view();
        self.instances.set(view.live.len() as i64);
        let owned = match (&view.fenced, &view.owned) {
            (Some(_), _) => 0,
            (None, None) => monitors,
            (None, Some(set)) => set.len(),
        };
        self.owned_monitors.set(owned as i64);
        if let Some(age) = self.heartbeat_age() {
            self.heartbeat_age_ms.set(age.as_secs_f64());
        }
    }

    /// A heartbeat landed; the members the store returned (live and
    /// recently lost) and the monitors this instance now owns.
    pub(crate) fn observed(&self, members: Vec<Member>, owned: HashSet<String>, took_over: usize) {
        *self.last_beat.write().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        let (live, lost) = split_live(members, &self.me.name, self.settings.lease);
        self.takeovers.inc_by(took_over as u64);
        self.write_view(|v| {
            v.live = live;
            v.lost = lost;
            v.owned = Some(Arc::new(owned));
            v.fenced = None;
        });
    }

    /// This instance may no longer own anything: it checks nothing until a
    /// heartbeat lands again.
    pub(crate) fn fence(&self, reason: String) {
        self.write_view(|v| v.fenced = Some(reason));
    }

    /// The owned set as last observed (`None` on one instance alone).
    pub(crate) fn owned(&self) -> Option<Arc<HashSet<String>>> {
        self.view
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .owned
            .clone()
    }

    fn write_view(&self, change: impl FnOnce(&mut View)) {
        let mut view = self.view.write().unwrap_or_else(|e| e.into_inner());
        change(&mut view);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// The names of the members of `location`, in order: the instances that
/// share that location's monitors (ownership is decided among them alone).
pub fn names_in(members: &[Member], location: &str) -> Vec<String> {
    members
        .iter()
        .filter(|m| identity::location_of(m) == location)
        .map(|m| m.name.clone())
        .collect()
}

/// The locations of `members`, sorted, each once.
pub fn locations_of<'a>(members: impl IntoIterator<Item = &'a Member>) -> Vec<String> {
    let mut locations: Vec<String> = members
        .into_iter()
        .map(|m| identity::location_of(m).to_string())
        .collect();
    locations.sort();
    locations.dedup();
    locations
}

/// Live and lost members, by the store's clock: live when its heartbeat is
/// within `lease` of this instance's own (just written, so "now" there).
/// Sorted by name.
pub fn split_live(members: Vec<Member>, me: &str, lease: Duration) -> (Vec<Member>, Vec<Member>) {
    let now: DateTime<Utc> = members
        .iter()
        .find(|m| m.name == me)
        .map(|m| m.heartbeat_at)
        .unwrap_or_else(Utc::now);
    let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    let (mut live, mut lost): (Vec<Member>, Vec<Member>) = members
        .into_iter()
        .partition(|m| now - m.heartbeat_at <= lease);
    live.sort_by(|a, b| a.name.cmp(&b.name));
    lost.sort_by(|a, b| a.name.cmp(&b.name));
    (live, lost)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, secs_ago: i64, now: DateTime<Utc>) -> Member {
        Member {
            name: name.into(),
            location: None,
            version: "0.1.0".into(),
            started_at: now - chrono::Duration::hours(1),
            heartbeat_at: now - chrono::Duration::seconds(secs_ago),
        }
    }

    #[test]
    fn members_are_live_within_the_lease_of_this_instances_own_heartbeat() {
        // The store's clock, not ours: our own row was just written "now" there.
        let store_now = Utc::now() - chrono::Duration::minutes(5);
        let members = vec![
            member("b", 3, store_now),
            member("me", 0, store_now),
            member("a", 10, store_now),
            member("gone", 11, store_now),
        ];
        let (live, lost) = split_live(members, "me", Duration::from_secs(10));
        let names = |v: &[Member]| v.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&live), ["a", "b", "me"]);
        assert_eq!(names(&lost), ["gone"]);
    }

    #[test]
    fn an_instance_fences_itself_a_heartbeat_before_the_others_count_it_lost() {
        let s = ClusterSettings::default();
        assert_eq!(s.fence_after(), Duration::from_secs(8));
        let tight = ClusterSettings {
            heartbeat: Duration::from_secs(5),
            lease: Duration::from_secs(10),
            ..ClusterSettings::default()
        };
        assert_eq!(tight.fence_after(), Duration::from_secs(5));
    }

    #[test]
    fn a_shared_cluster_owns_nothing_until_its_first_heartbeat_then_what_it_observed() {
        let now = Utc::now();
        let cluster = Cluster::shared(member("me", 0, now), ClusterSettings::default());
        assert!(!cluster.owns("api"));
        assert!(cluster.fenced().is_some());
        let before = cluster.generation();
        let owned: HashSet<String> = ["api".to_string()].into();
        cluster.observed(
            vec![member("me", 0, now), member("other", 1, now)],
            owned,
            0,
        );
        assert!(cluster.owns("api") && !cluster.owns("db"));
        assert!(cluster.generation() > before);
        assert_eq!(cluster.view().live.len(), 2);
        cluster.fence("store unreachable".into());
        assert!(!cluster.owns("api"), "a fenced instance checks nothing");
        let solo = Cluster::solo(member("me", 0, now));
        assert!(solo.owns("anything") && solo.fenced().is_none());
    }
}
