//! When monitors run: cron expressions and `@every` intervals, and the
//! maintenance windows during which their alerts are held back. Pure: the
//! daemon owns the clock, jitter and concurrency.
//!
//! Cron expressions follow Unix crontab: 5 fields (minute hour day-of-month
//! month day-of-week), or 6/7 with seconds first (and a year last). Day-of-week
//! numbers mean what they mean in crontab — 0 or 7 is Sunday, 1 is Monday — in
//! every form, although the `cron` crate underneath counts Sunday as 1; the
//! translation happens here so `0 3 * * 0` fires on Sundays as an operator expects.

use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

/// What a schedule error says was expected.
const EXPECTED: &str = "expected 5 fields (m h dom mon dow), 6 with seconds, or '@every 30s'";

/// A cron expression must fire within this many years of load time: one that
/// names an impossible date (`0 0 30 2 *`) or only a far year would be
/// accepted and then silently never check anything. Eight years covers the
/// longest gap between two leap days (2096 to 2104), so `0 0 29 2 *` passes.
const FIRES_WITHIN_YEARS: i64 = 8;

/// Shorthands the `cron` crate understands.
const SHORTHANDS: [&str; 5] = ["@hourly", "@daily", "@weekly", "@monthly", "@yearly"];

/// When a monitor runs.
// One per monitor, built once at load: the size of the cron variant costs
// nothing, and boxing it would only complicate matching.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Schedule {
    /// At the instants a cron expression names.
    Cron {
        /// The expression as written.
        expr: String,
        /// The compiled expression (seconds first, crate day-of-week numbering).
        schedule: cron::Schedule,
    },
    /// At a fixed interval; the daemon picks the first instant.
    Every(Duration),
}

impl Schedule {
    /// Parse `@every 30s`, a 5-field crontab line, a 6/7-field line with
    /// seconds first, or a shorthand such as `@hourly`.
    pub fn parse(s: &str) -> Result<Schedule, String> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("@every") {
            return parse_every(rest.trim()).map(Schedule::Every);
        }
        if s.starts_with('@') {
            if !SHORTHANDS.contains(&s) {
                return Err(format!(
                    "unknown shorthand {s:?}: expected one of {} or '@every 30s'",
                    SHORTHANDS.join(", ")
                ));
            }
            return compile(s, s.to_string());
        }
        let mut fields: Vec<String> = s.split_whitespace().map(str::to_string).collect();
        let dow = match fields.len() {
            5 => 4,
            6 | 7 => 5,
            n => return Err(format!("{n} fields in {s:?}: {EXPECTED}")),
        };
        fields[dow] = crontab_days_to_crate(&fields[dow])?;
        if fields.len() == 5 {
            fields.insert(0, "0".to_string());
        }
        compile(s, fields.join(" "))
    }

    /// The first run strictly after `after`. An interval is counted from
    /// `after`: the daemon anchors it (e.g. at start-up plus jitter).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Cron { schedule, .. } => schedule.after(&after).next(),
            Schedule::Every(d) => chrono::Duration::from_std(*d)
                .ok()
                .and_then(|d| after.checked_add_signed(d)),
        }
    }

    /// The schedule as it is written in the config, e.g. `@every 30s` or `*/5 * * * *`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Cron { expr, .. } => expr.clone(),
            Schedule::Every(d) => format!("@every {}", humantime::format_duration(*d)),
        }
    }
}

fn parse_every(d: &str) -> Result<Duration, String> {
    if d.is_empty() {
        return Err("'@every' needs a duration, e.g. '@every 30s'".into());
    }
    let every = humantime::parse_duration(d).map_err(|_| {
        format!("invalid interval {d:?} after '@every': expected a duration like 30s, 5m")
    })?;
    if every.is_zero() {
        return Err("'@every' needs an interval greater than zero".into());
    }
    Ok(every)
}

fn compile(expr: &str, crate_expr: String) -> Result<Schedule, String> {
    let schedule = cron::Schedule::from_str(&crate_expr).map_err(|e| {
        // The crate's message is "<expr>\n  ^\n<reason>": the caret points into
        // the translated expression, so only the reason is kept.
        let text = e.to_string();
        let reason = text.lines().rev().find(|l| !l.trim().is_empty());
        match reason {
            Some(r) if text.lines().count() > 1 => format!("{expr:?}: {}; {EXPECTED}", r.trim()),
            _ => format!("invalid expression {expr:?}; {EXPECTED}"),
        }
    })?;
    ensure_fires(expr, &schedule, Utc::now())?;
    Ok(Schedule::Cron {
        expr: expr.to_string(),
        schedule,
    })
}

/// Refuse an expression whose next instant after `now` is missing or past the
/// [`FIRES_WITHIN_YEARS`] horizon.
fn ensure_fires(expr: &str, schedule: &cron::Schedule, now: DateTime<Utc>) -> Result<(), String> {
    let horizon = now + chrono::Duration::days(366 * FIRES_WITHIN_YEARS);
    match schedule.after(&now).next() {
        Some(next) if next <= horizon => Ok(()),
        Some(next) => Err(format!(
            "{expr:?} first fires on {}, more than {FIRES_WITHIN_YEARS} years from now: \
             a monitor on it would not run",
            next.format("%Y-%m-%d")
        )),
        None => Err(format!(
            "{expr:?} never fires: no date matches it (check the day of month against the month)"
        )),
    }
}

/// Rewrite a crontab day-of-week field (0–7, Sunday = 0 or 7, names) as an
/// explicit list in the `cron` crate's numbering (1–7, Sunday = 1).
fn crontab_days_to_crate(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok(field.to_string());
    }
    let mut days = BTreeSet::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: usize =
                    step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                        format!("day-of-week step {step:?} is not a positive number")
                    })?;
                (range, Some(step))
            }
            None => (item, None),
        };
        let (first, last) = if range == "*" {
            (0, 6)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, mut b) = (weekday(a)?, weekday(b)?);
            // "fri-sun": Sunday closes the week.
            if b == 0 && a > 0 {
                b = 7;
            }
            if a > b {
                return Err(format!("day-of-week range {range:?} runs backwards"));
            }
            (a, b)
        } else {
            let day = weekday(range)?;
            // crontab reads "1/2" as "1-7/2".
            (day, if step.is_some() { 7 } else { day })
        };
        for day in (first..=last).step_by(step.unwrap_or(1)) {
            days.insert(day % 7 + 1);
        }
    }
    Ok(days
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(","))
}

/// A crontab weekday: 0–7 or a three-letter English name; Sunday is 0.
fn weekday(s: &str) -> Result<usize, String> {
    const NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    if let Ok(n) = s.parse::<usize>() {
        return match n {
            0..=6 => Ok(n),
            7 => Ok(0),
            _ => Err(format!(
                "day of week {s:?} is out of range: use 0-7 (0 or 7 = Sunday) or sun..sat"
            )),
        };
    }
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .ok_or_else(|| format!("day of week {s:?} is not 0-7 (0 or 7 = Sunday) or sun..sat"))
}

/// A recurring period during which a monitor's alerts are held back.
#[derive(Debug, Clone)]
pub struct MaintenanceWindow {
    /// When each window opens (always a cron schedule: config rejects `@every`).
    pub start: Schedule,
    /// How long each window stays open.
    pub duration: Duration,
    /// Free text for logs and the status page, e.g. "weekly patching".
    pub label: Option<String>,
}

impl MaintenanceWindow {
    /// True when a window that opened at or before `t` is still open at `t`
    /// (windows are half-open: `[start, start + duration)`).
    pub fn active_at(&self, t: DateTime<Utc>) -> bool {
        let Schedule::Cron { schedule, .. } = &self.start else {
            return false;
        };
        let Ok(duration) = chrono::Duration::from_std(self.duration) else {
            return false;
        };
        let Some(from) = t.checked_sub_signed(duration) else {
            return false;
        };
        // The first start strictly after t - duration is the only one that can
        // still be open at t.
        schedule.after(&from).next().is_some_and(|start| start <= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn cron_forms_fire_at_the_expected_next_instant() {
        let cases = [
            // (expression, after, next)
            (
                "*/1 * * * *",
                "2024-01-01T00:00:00Z",
                "2024-01-01T00:01:00Z",
            ),
            (
                "*/5 * * * *",
                "2024-01-01T00:07:30Z",
                "2024-01-01T00:10:00Z",
            ),
            ("30 9 * * *", "2024-01-01T09:30:00Z", "2024-01-02T09:30:00Z"),
            ("0 3 * * 0", "2024-01-01T00:00:00Z", "2024-01-07T03:00:00Z"),
            ("0 3 * * 7", "2024-01-01T00:00:00Z", "2024-01-07T03:00:00Z"),
            (
                "0 3 * * sun",
                "2024-01-01T00:00:00Z",
                "2024-01-07T03:00:00Z",
            ),
            ("0 3 * * 1", "2024-01-01T04:00:00Z", "2024-01-08T03:00:00Z"),
            (
                "0 3 * * 1-5",
                "2024-01-05T04:00:00Z",
                "2024-01-08T03:00:00Z",
            ),
            (
                "0 3 * * fri-sun",
                "2024-01-01T00:00:00Z",
                "2024-01-05T03:00:00Z",
            ),
            (
                "0 3 * * */3",
                "2024-01-01T00:00:00Z",
                "2024-01-03T03:00:00Z",
            ),
            (
                "15 */10 * * * *",
                "2024-01-01T00:00:00Z",
                "2024-01-01T00:00:15Z",
            ),
            (
                "0 0 12 1 1 * 2030-2099",
                "2024-01-01T00:00:00Z",
                "2030-01-01T12:00:00Z",
            ),
            ("@hourly", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z"),
            ("@daily", "2024-01-01T10:00:00Z", "2024-01-02T00:00:00Z"),
            ("@weekly", "2024-01-01T10:00:00Z", "2024-01-07T00:00:00Z"),
        ];
        for (expr, after, next) in cases {
            let s = Schedule::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(s.next_after(at(after)), Some(at(next)), "{expr}");
            assert_eq!(s.describe(), expr);
        }
    }

    #[test]
    fn a_schedule_must_fire_within_the_horizon_of_its_load_time() {
        let compiled = |e: &str| cron::Schedule::from_str(e).unwrap();
        let leap_day = compiled("0 0 0 29 2 * *");
        // Just after a leap day, the next one is four years away.
        assert_eq!(
            ensure_fires("0 0 29 2 *", &leap_day, at("2024-03-01T00:00:00Z")),
            Ok(())
        );
        let far = compiled("0 0 12 1 1 * 2099");
        assert_eq!(
            ensure_fires("0 0 12 1 1 * 2099", &far, at("2026-12-03T00:00:00Z")),
            Err("\"0 0 12 1 1 * 2099\" first fires on 2099-01-01, more than 8 years from now: a monitor on it would not run".into())
        );
        assert_eq!(
            ensure_fires("0 0 12 1 1 * 2099", &far, at("2092-01-01T00:00:00Z")),
            Ok(())
        );
    }

    use chrono::{Datelike, Timelike};
    use proptest::prelude::*;

    /// Instants from 2000 to 2090, to the second.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        (946_684_800i64..3_786_912_000).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn every_fires_exactly_its_interval_after_the_given_instant(
            secs in 1u64..10_000_000,
            after in instant(),
        ) {
            let written = humantime::format_duration(Duration::from_secs(secs)).to_string();
            let s = Schedule::parse(&format!("@every {written}")).unwrap();
            prop_assert!(matches!(s, Schedule::Every(d) if d == Duration::from_secs(secs)));
            prop_assert_eq!(s.describe(), format!("@every {written}"));
            prop_assert_eq!(
                s.next_after(after),
                Some(after + chrono::Duration::seconds(secs as i64))
            );
        }

        #[test]
        fn a_daily_cron_fires_next_at_its_minute_and_hour_within_a_day(
            minute in 0u32..60,
            hour in 0u32..24,
            after in instant(),
        ) {
            let s = Schedule::parse(&format!("{minute} {hour} * * *")).unwrap();
            let next = s.next_after(after).unwrap();
            prop_assert!(next > after);
            prop_assert!(next - after <= chrono::Duration::days(1));
            prop_assert_eq!((next.hour(), next.minute(), next.second()), (hour, minute, 0));
        }

        #[test]
        fn a_minute_step_fires_on_the_next_multiple_of_the_step(
            step in 1u32..60,
            after in instant(),
        ) {
            let s = Schedule::parse(&format!("*/{step} * * * *")).unwrap();
            let next = s.next_after(after).unwrap();
            prop_assert!(next > after);
            prop_assert_eq!((next.minute() % step, next.second()), (0, 0));
            // No instant in between matches: every earlier minute is off the step.
            let mut t = after + chrono::Duration::seconds(60 - i64::from(after.second()));
            while t < next {
                prop_assert_ne!(t.minute() % step, 0, "{} was skipped", t);
                t += chrono::Duration::minutes(1);
            }
        }

        #[test]
        fn a_crontab_weekday_fires_on_that_day_with_0_and_7_as_sunday(
            day in 0u32..=7,
            after in instant(),
        ) {
            let s = Schedule::parse(&format!("0 3 * * {day}")).unwrap();
            let next = s.next_after(after).unwrap();
            prop_assert!(next > after && next - after <= chrono::Duration::days(7));
            prop_assert_eq!(next.weekday().num_days_from_sunday(), day % 7);
            prop_assert_eq!((next.hour(), next.minute()), (3, 0));
        }
    }

    #[test]
    fn every_counts_from_the_given_instant() {
        let s = Schedule::parse("@every 30s").unwrap();
        assert!(matches!(s, Schedule::Every(d) if d == Duration::from_secs(30)));
        let next = s.next_after(at("2024-01-01T00:00:10Z"));
        assert_eq!(next, Some(at("2024-01-01T00:00:40Z")));
        assert_eq!(s.describe(), "@every 30s");
        assert_eq!(
            Schedule::parse("@every 1m30s").unwrap().describe(),
            "@every 1m 30s"
        );
    }

    #[test]
    fn invalid_expressions_say_what_was_expected() {
        let cases = [
            (
                "* * * *",
                "4 fields in \"* * * *\": expected 5 fields (m h dom mon dow), 6 with seconds, or '@every 30s'",
            ),
            (
                "",
                "0 fields in \"\": expected 5 fields (m h dom mon dow), 6 with seconds, or '@every 30s'",
            ),
            (
                "61 * * * *",
                "\"61 * * * *\": Minutes must be less than 59. ('61' specified.); expected 5 fields (m h dom mon dow), 6 with seconds, or '@every 30s'",
            ),
            (
                "* * * * 8",
                "day of week \"8\" is out of range: use 0-7 (0 or 7 = Sunday) or sun..sat",
            ),
            (
                "* * * * funday",
                "day of week \"funday\" is not 0-7 (0 or 7 = Sunday) or sun..sat",
            ),
            ("* * * * 5-2", "day-of-week range \"5-2\" runs backwards"),
            ("@every", "'@every' needs a duration, e.g. '@every 30s'"),
            ("@every 0s", "'@every' needs an interval greater than zero"),
            (
                "@every soon",
                "invalid interval \"soon\" after '@every': expected a duration like 30s, 5m",
            ),
            (
                "0 0 30 2 *",
                "\"0 0 30 2 *\" never fires: no date matches it (check the day of month against the month)",
            ),
            (
                "0 0 0 31 4 * *",
                "\"0 0 0 31 4 * *\" never fires: no date matches it (check the day of month against the month)",
            ),
            (
                "@fortnightly",
                "unknown shorthand \"@fortnightly\": expected one of @hourly, @daily, @weekly, @monthly, @yearly or '@every 30s'",
            ),
        ];
        for (expr, message) in cases {
            match Schedule::parse(expr) {
                Ok(_) => panic!("{expr:?} parsed"),
                Err(e) => assert_eq!(e, message, "{expr:?}"),
            }
        }
    }

    fn window(start: &str, minutes: u64) -> MaintenanceWindow {
        MaintenanceWindow {
            start: Schedule::parse(start).unwrap(),
            duration: Duration::from_secs(minutes * 60),
            label: None,
        }
    }

    #[test]
    fn a_maintenance_window_is_open_from_its_start_until_just_before_its_end() {
        // Sundays 03:00 for 30 minutes; 2024-01-07 is a Sunday.
        let w = window("0 3 * * 0", 30);
        let cases = [
            ("2024-01-07T02:59:59Z", false),
            ("2024-01-07T03:00:00Z", true),
            ("2024-01-07T03:15:00Z", true),
            ("2024-01-07T03:29:59Z", true),
            ("2024-01-07T03:30:00Z", false),
            ("2024-01-08T03:10:00Z", false),
        ];
        for (t, open) in cases {
            assert_eq!(w.active_at(at(t)), open, "{t}");
        }
    }

    #[test]
    fn a_window_longer_than_its_period_is_always_open() {
        let w = window("*/5 * * * *", 10);
        assert!(w.active_at(at("2024-01-01T00:02:00Z")));
        assert!(w.active_at(at("2024-01-01T00:07:00Z")));
    }

    #[test]
    fn an_interval_is_never_a_maintenance_window() {
        let w = MaintenanceWindow {
            start: Schedule::Every(Duration::from_secs(60)),
            duration: Duration::from_secs(3600),
            label: None,
        };
        assert!(!w.active_at(at("2024-01-01T00:00:00Z")));
    }
}
