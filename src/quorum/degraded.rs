//! A degraded location: every monitor checked from it fails there while the
//! other locations see each of them up. That is the location's own network
//! (its uplink, resolver, firewall or proxy), not an outage of the services,
//! so it is told once — "location degraded" — rather than once per monitor
//! (the quorum already keeps those monitors up).
//!
//! Pure: the newest result of each monitor from each location in, each
//! location's health out.

use super::evidence::LocationResult;
use std::collections::BTreeMap;

/// Fewer monitors checked from a location than this cannot tell the
/// location from the one service failing from there.
pub const MIN_MONITORS: usize = 2;

/// What the newest results say about one location.
#[derive(Debug, Clone, PartialEq)]
pub enum LocationHealth {
    /// Every monitor checked from it fails there and the other locations
    /// see each of them up: its failing results, by monitor, with their rounds.
    Degraded(Vec<Seen>),
    /// A monitor passes there: its network reaches the services. One passing
    /// result, with its round.
    Clear(Box<Seen>),
    /// Neither: the others fail too (an outage, the quorum's business), too
    /// few monitors to tell, or no other location to compare with.
    Undecided,
    /// No recent result from it at all: its instances are gone, or it no
    /// longer checks anything. A degraded incident cannot go on there.
    Silent,
}

/// One monitor's newest result from one location, with its round's id.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// The monitor.
    pub monitor: String,
    /// The round (its id).
    pub round: i64,
    /// The location's result.
    pub result: LocationResult,
}

/// [`assess`], and every location of `known` without a recent result
/// [`LocationHealth::Silent`].
pub fn assess_known(
    latest: &[(String, i64, LocationResult)],
    known: &[String],
) -> BTreeMap<String, LocationHealth> {
    let mut health = assess(latest);
    for location in known {
        health
            .entry(location.clone())
            .or_insert(LocationHealth::Silent);
    }
    health
}

/// Each location's health from `latest`: the newest round result of every
/// monitor from every location, as (monitor, round, result).
pub fn assess(latest: &[(String, i64, LocationResult)]) -> BTreeMap<String, LocationHealth> {
    let mut by_location: BTreeMap<&str, Vec<Seen>> = BTreeMap::new();
    for (monitor, round, result) in latest {
        by_location.entry(&result.location).or_default().push(Seen {
            monitor: monitor.clone(),
            round: *round,
            result: result.clone(),
        });
    }
    let others_see_up = |location: &str, monitor: &str| {
        let mut others = latest
            .iter()
            .filter(|(m, _, r)| m == monitor && r.location != location)
            .peekable();
        others.peek().is_some() && others.all(|(_, _, r)| r.ok)
    };
    by_location
        .into_iter()
        .map(|(location, mut seen)| {
            seen.sort_by(|a, b| a.monitor.cmp(&b.monitor));
            let health = if let Some(up) = seen.iter().find(|s| s.result.ok) {
                LocationHealth::Clear(Box::new(up.clone()))
            } else if seen.len() >= MIN_MONITORS
                && seen.iter().all(|s| others_see_up(location, &s.monitor))
            {
                LocationHealth::Degraded(seen)
            } else {
                LocationHealth::Undecided
            };
            (location.to_string(), health)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Class;
    use chrono::Utc;

    fn seen(monitor: &str, location: &str, ok: bool) -> (String, i64, LocationResult) {
        let result = LocationResult {
            location: location.into(),
            instance: format!("probe-{location}"),
            at: Utc::now(),
            ok,
            class: if ok { Class::Ok } else { Class::ConnectError },
            phase: None,
            message: None,
            hint: None,
            total_ms: 1.0,
            report: None,
            report_text: String::new(),
        };
        (monitor.into(), 7, result)
    }

    fn kinds(latest: &[(String, i64, LocationResult)]) -> Vec<(String, &'static str)> {
        assess(latest)
            .into_iter()
            .map(|(l, h)| {
                let kind = match h {
                    LocationHealth::Degraded(_) => "degraded",
                    LocationHealth::Clear(_) => "clear",
                    LocationHealth::Undecided => "undecided",
                    LocationHealth::Silent => "silent",
                };
                (l, kind)
            })
            .collect()
    }

    #[test]
    fn a_location_where_everything_fails_while_the_others_see_it_up_is_degraded() {
        let latest = [
            seen("api", "a", false),
            seen("api", "b", true),
            seen("api", "c", true),
            seen("chat", "a", false),
            seen("chat", "b", true),
        ];
        assert_eq!(
            kinds(&latest),
            [
                ("a".into(), "degraded"),
                ("b".into(), "clear"),
                ("c".into(), "clear")
            ]
        );
        let LocationHealth::Degraded(failing) = &assess(&latest)["a"] else {
            panic!("a is degraded");
        };
        let monitors: Vec<&str> = failing.iter().map(|s| s.monitor.as_str()).collect();
        assert_eq!(monitors, ["api", "chat"]);
    }

    #[test]
    fn one_monitor_passing_there_clears_the_location() {
        let latest = [
            seen("api", "a", false),
            seen("api", "b", true),
            seen("chat", "a", true),
            seen("chat", "b", true),
        ];
        assert_eq!(kinds(&latest)[0], ("a".into(), "clear"));
    }

    #[test]
    fn an_outage_seen_elsewhere_too_or_too_few_monitors_decide_nothing() {
        // b fails chat too: an outage of chat, not a's network.
        let outage = [
            seen("api", "a", false),
            seen("api", "b", true),
            seen("chat", "a", false),
            seen("chat", "b", false),
        ];
        assert_eq!(kinds(&outage)[0], ("a".into(), "undecided"));
        // One monitor: a could be that one service failing from there.
        let one = [seen("api", "a", false), seen("api", "b", true)];
        assert_eq!(kinds(&one)[0], ("a".into(), "undecided"));
        // Nobody else checks them: nothing to compare with.
        let alone = [seen("api", "a", false), seen("chat", "a", false)];
        assert_eq!(kinds(&alone), [("a".into(), "undecided")]);
    }

    #[test]
    fn a_known_location_without_recent_results_is_silent() {
        let latest = [seen("api", "a", true)];
        let known = ["a".to_string(), "gone".to_string()];
        let health = assess_known(&latest, &known);
        assert!(matches!(health["a"], LocationHealth::Clear(_)));
        assert_eq!(health["gone"], LocationHealth::Silent);
    }
}
