//! Who owns a monitor: rendezvous (highest random weight) hashing. Every
//! instance scores each (monitor, instance) pair with the same hash and the
//! instance with the highest score owns the monitor. No coordinator and no
//! table of assignments: instances that see the same live members agree, and
//! when one joins or leaves only the monitors it gains or loses move (each
//! other monitor's best score is unchanged).
//!
//! The hash is SHA-256, not Rust's `DefaultHasher`: its output may change
//! between Rust releases, and instances built by different releases must
//! still agree on every owner.

use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// The score of `instance` for `monitor`.
fn score(monitor: &str, instance: &str) -> u64 {
    let mut h = Sha256::new();
    // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
    h.update((monitor.len() as u64).to_be_bytes());
    h.update(monitor.as_bytes());
    h.update(instance.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The owner of `monitor` among `instances` (`None` when there are none).
/// Ties, astronomically unlikely, go to the smaller name so everyone agrees.
pub fn owner<'a>(monitor: &str, instances: &'a [String]) -> Option<&'a str> {
    instances
        .iter()
        .map(|i| (score(monitor, i), std::cmp::Reverse(i.as_str())))
        .max()
        .map(|(_, std::cmp::Reverse(name))| name)
}

/// The monitors of `monitors` that `me` owns among `instances`.
pub fn owned_by<'a>(
    me: &str,
    monitors: impl IntoIterator<Item = &'a str>,
    instances: &[String],
) -> HashSet<String> {
    monitors
        .into_iter()
        .filter(|m| owner(m, instances) == Some(me))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of (len, "chat-gateway", "probe-a"), first 8 bytes, computed outside Rust.
    const PINNED: u64 = 0x492d_a264_123a_1bbf;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("instance-{i}")).collect()
    }

    fn monitors(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("monitor-{i}")).collect()
    }

    #[test]
    fn every_monitor_has_exactly_one_owner_and_the_load_is_spread() {
        let instances = names(3);
        let monitors = monitors(3000);
        let shares: Vec<usize> = instances
            .iter()
            .map(|me| owned_by(me, monitors.iter().map(String::as_str), &instances).len())
            .collect();
        assert_eq!(shares.iter().sum::<usize>(), 3000, "{shares:?}");
        for share in &shares {
            assert!((850..=1150).contains(share), "uneven: {shares:?}");
        }
    }

    #[test]
    fn only_the_monitors_of_an_instance_that_left_move() {
        let before = names(4);
        let after: Vec<String> = before
            .iter()
            .filter(|n| *n != "instance-2")
            .cloned()
            .collect();
        for m in monitors(2000) {
            let was = owner(&m, &before).unwrap();
            let now = owner(&m, &after).unwrap();
            if was != "instance-2" {
                assert_eq!(was, now, "{m} moved though its owner stayed");
            }
        }
    }

    #[test]
    fn a_joining_instance_takes_monitors_only_for_itself() {
        let before = names(2);
        let after = names(3);
        let mut gained = 0;
        for m in monitors(2000) {
            let now = owner(&m, &after).unwrap();
            if now == "instance-2" {
                gained += 1;
            } else {
                assert_eq!(
                    owner(&m, &before).unwrap(),
                    now,
                    "{m} moved between old instances"
                );
            }
        }
        assert!((500..=830).contains(&gained), "{gained}");
    }

    #[test]
    fn the_owner_does_not_depend_on_the_order_instances_are_listed_in() {
        let mut instances = names(5);
        let first: Vec<_> = monitors(200)
            .iter()
            .map(|m| owner(m, &instances).unwrap().to_string())
            .collect();
        instances.reverse();
        let second: Vec<_> = monitors(200)
            .iter()
            .map(|m| owner(m, &instances).unwrap().to_string())
            .collect();
        assert_eq!(first, second);
        assert_eq!(owner("m", &[]), None);
    }

    #[test]
    fn scores_are_pinned_so_every_build_agrees() {
        // If this changes, instances of different versions disagree on owners.
        assert_eq!(score("chat-gateway", "probe-a"), PINNED);
        assert_ne!(score("ab", "c"), score("a", "bc"));
    }
}
