//! Property tests of config loading that check the values, not only that
//! nothing panics: numbers, durations, URLs and header values written in
//! monitors.yaml come out of the loader as exactly what was written.

use proptest::prelude::*;
use std::path::Path;
use std::time::Duration;
use wsprobe::config::{self, Config};

fn load(yaml: &str) -> Config {
    match config::load_str(yaml, Path::new("prop.yaml"), &|_| None) {
        Ok(c) => c,
        Err(e) => panic!("did not load:\n{e}\n---\n{yaml}"),
    }
}

/// A duration as people write it: one or more humantime units.
fn written_duration() -> impl Strategy<Value = (String, Duration)> {
    (0u64..48, 0u64..60, 0u64..60, 0u64..1000).prop_filter_map(
        "at least one unit, greater than zero",
        |(h, m, s, ms)| {
            let total = Duration::from_millis(((h * 60 + m) * 60 + s) * 1000 + ms);
            let mut text = String::new();
            for (n, unit) in [(h, "h"), (m, "m"), (s, "s"), (ms, "ms")] {
                if n > 0 {
                    text.push_str(&format!("{n}{unit}"));
                }
            }
            (!total.is_zero()).then_some((text, total))
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn numbers_load_as_the_values_written(
        retries in 0u32..=u32::MAX,
        failure in 1u32..10_000,
        success in 1u32..10_000,
        max_message in 1usize..(1 << 30),
    ) {
        let c = load(&format!(
            "monitors:\n  - name: m\n    url: ws://127.0.0.1:9/\n    retries: {retries}\n    \
             failure_threshold: {failure}\n    success_threshold: {success}\n    \
             max_message_bytes: {max_message}\n"
        ));
        let m = &c.monitors[0];
        prop_assert_eq!(m.spec.retries, retries);
        prop_assert_eq!(m.policy.failure_threshold, failure);
        prop_assert_eq!(m.policy.success_threshold, success);
        prop_assert_eq!(m.spec.max_message_bytes, max_message);
    }

    #[test]
    fn durations_load_as_the_time_written(
        (timeout_text, timeout) in written_duration(),
        (delay_text, delay) in written_duration(),
        (repeat_text, repeat) in written_duration(),
    ) {
        let c = load(&format!(
            "monitors:\n  - name: m\n    url: ws://127.0.0.1:9/\n    timeout: {timeout_text}\n    \
             retry_delay: {delay_text}\n    repeat: {repeat_text}\n    schedule: \"@every {timeout_text}\"\n"
        ));
        let m = &c.monitors[0];
        prop_assert_eq!(m.spec.timeout, timeout);
        prop_assert_eq!(m.spec.retry_delay, delay);
        prop_assert_eq!(m.policy.repeat, Some(repeat));
        prop_assert_eq!(
            m.schedule.describe(),
            format!("@every {}", humantime::format_duration(timeout))
        );
    }

    #[test]
    fn urls_and_header_values_load_unchanged(
        host in "[a-z][a-z0-9-]{0,20}(\\.[a-z][a-z0-9]{0,10}){0,3}",
        port in 1u16..,
        path in "(/[A-Za-z0-9._~-]{0,12}){0,4}",
        query in proptest::option::of("[a-z]{1,8}=[A-Za-z0-9]{0,12}"),
        name in "X-[A-Za-z]{1,8}-[0-9]{1,4}",
        // No `$`: `${VAR}` would be an environment reference.
        value in "[!-#%-~]([ -#%-~]{0,40}[!-#%-~])?",
    ) {
        let url = format!(
            "wss://{host}:{port}{path}{}",
            query.map(|q| format!("?{q}")).unwrap_or_default()
        );
        // Single-quoted YAML: only a quote needs escaping (by doubling it).
        let quoted = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let c = load(&format!(
            "monitors:\n  - name: m\n    url: {}\n    headers:\n      {name}: {}\n",
            quoted(&url),
            quoted(&value)
        ));
        let m = &c.monitors[0];
        prop_assert_eq!(&m.url, &url);
        prop_assert_eq!(&m.spec.headers, &vec![(name.clone(), value.clone())]);
    }
}
