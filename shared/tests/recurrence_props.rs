//! Property tests: `next_fire_after` against a brute-force reference that walks minute by
//! minute (zone offsets from jiff's transition list, civil breakdown from chrono), and cron
//! parsing against `croner`.
//!
//! The reference is bounded: it walks at most 62 days, and when it finds nothing in that
//! horizon we only require our answer to be beyond it (or `None`).

#![cfg(feature = "tz")]

use chrono::{Datelike, Timelike};
use proptest::prelude::*;
use scheduler_core::{parse_stored_config, Instant, Schedule};

const ZONES: &[&str] = &[
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
];
const HORIZON_MINUTES: i64 = 62 * 24 * 60;

/// A generated recurrence, kept as plain sets so the reference matcher does not share code with
/// the masks under test.
#[derive(Clone, Debug)]
enum Spec {
    Daily {
        times: Vec<(u32, u32)>,
    },
    Weekly {
        weekdays: Vec<u32>,
        times: Vec<(u32, u32)>,
    }, // 0 = Sunday
    Monthly {
        days: Vec<u32>,
        last: bool,
        times: Vec<(u32, u32)>,
    },
    Once {
        date: (i32, u32, u32),
        times: Vec<(u32, u32)>,
    },
    Cron {
        mins: Vec<u32>,
        hours: Option<Vec<u32>>,
        dom: Option<Vec<u32>>,
        dom_last: bool,
        months: Option<Vec<u32>>,
        dow: Option<Vec<u32>>,
        nth: Option<(u32, u32)>,
    },
}

const WD: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

fn list(v: &[u32]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl Spec {
    fn task_json(&self, zone: &str) -> String {
        let times = |t: &[(u32, u32)]| {
            t.iter()
                .map(|(h, m)| format!("\"{h:02}:{m:02}\""))
                .collect::<Vec<_>>()
                .join(",")
        };
        let body = match self {
            Spec::Daily { times: t } => {
                format!(r#""recurrence": "daily", "times": [{}]"#, times(t))
            }
            Spec::Weekly { weekdays, times: t } => {
                let w: Vec<String> = weekdays
                    .iter()
                    .map(|d| format!("\"{}\"", WD[*d as usize]))
                    .collect();
                format!(
                    r#""recurrence": "weekly", "weekdays": [{}], "times": [{}]"#,
                    w.join(","),
                    times(t)
                )
            }
            Spec::Monthly {
                days,
                last,
                times: t,
            } => {
                let mut d: Vec<String> = days.iter().map(|d| d.to_string()).collect();
                if *last {
                    d.push("\"last\"".into());
                }
                format!(
                    r#""recurrence": "monthly", "days": [{}], "times": [{}]"#,
                    d.join(","),
                    times(t)
                )
            }
            Spec::Once {
                date: (y, m, d),
                times: t,
            } => {
                format!(
                    r#""recurrence": "none", "date": "{y:04}-{m:02}-{d:02}", "times": [{}]"#,
                    times(t)
                )
            }
            Spec::Cron { .. } => format!(r#""recurrence": "cron", "cron": "{}""#, self.cron_expr()),
        };
        format!(
            r#"{{"format": "clearml-task-scheduler/v1", "name": "p", "scheduled_tasks": [{{"id": "x", "base_task_id": "b", "queue": "q", "timezone": "{zone}", {body}}}]}}"#
        )
    }

    fn cron_expr(&self) -> String {
        let Spec::Cron {
            mins,
            hours,
            dom,
            dom_last,
            months,
            dow,
            nth,
        } = self
        else {
            unreachable!()
        };
        let opt = |o: &Option<Vec<u32>>| o.as_ref().map_or("*".to_string(), |v| list(v));
        let mut dom_s = dom.as_ref().map(|v| list(v));
        if *dom_last {
            dom_s = Some(dom_s.map_or("L".into(), |s| format!("{s},L")));
        }
        let mut dow_s = dow.as_ref().map(|v| list(v));
        if let Some((wd, n)) = nth {
            dow_s = Some(dow_s.map_or(format!("{wd}#{n}"), |s| format!("{s},{wd}#{n}")));
        }
        format!(
            "{} {} {} {} {}",
            list(mins),
            opt(hours),
            dom_s.unwrap_or("*".into()),
            opt(months),
            dow_s.unwrap_or("*".into())
        )
    }

    /// Does local civil time `dt` match?
    fn matches(&self, dt: &chrono::NaiveDateTime) -> bool {
        let (h, m) = (dt.hour(), dt.minute());
        let (y, mo, d) = (dt.year(), dt.month(), dt.day());
        let wd = dt.weekday().num_days_from_sunday();
        let dim = days_in_month(y, mo);
        let at = |t: &[(u32, u32)]| t.contains(&(h, m));
        match self {
            Spec::Daily { times } => at(times),
            Spec::Weekly { weekdays, times } => weekdays.contains(&wd) && at(times),
            Spec::Monthly { days, last, times } => {
                (days.contains(&d) || (*last && d == dim)) && at(times)
            }
            Spec::Once { date, times } => *date == (y, mo, d) && at(times),
            Spec::Cron {
                mins,
                hours,
                dom,
                dom_last,
                months,
                dow,
                nth,
            } => {
                let inn = |o: &Option<Vec<u32>>, v: u32| o.as_ref().is_none_or(|s| s.contains(&v));
                if !mins.contains(&m) || !inn(hours, h) || !inn(months, mo) {
                    return false;
                }
                let dom_restricted = dom.is_some() || *dom_last;
                let dow_restricted = dow.is_some() || nth.is_some();
                let dom_ok =
                    dom.as_ref().is_some_and(|s| s.contains(&d)) || (*dom_last && d == dim);
                let dow_ok = dow.as_ref().is_some_and(|s| s.iter().any(|x| x % 7 == wd))
                    || nth.is_some_and(|(x, n)| x % 7 == wd && (d - 1) / 7 + 1 == n);
                match (dom_restricted, dow_restricted) {
                    (true, true) => dom_ok || dow_ok,
                    (true, false) => dom_ok,
                    (false, true) => dow_ok,
                    (false, false) => true,
                }
            }
        }
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    let next = if m == 12 {
        chrono::NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    next.unwrap().pred_opt().unwrap().day()
}

fn civil(local: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp(local, 0)
        .unwrap()
        .naive_utc()
}

/// Minute-by-minute reference: the first firing instant in (t, t + horizon].
///
/// Offsets come from jiff's list of transitions (not from the local-to-instant mapping the
/// implementation uses): at a spring-forward transition every skipped local minute that matches
/// fires at the transition; during the repeated hour after a fall-back, matches are ignored
/// (they already fired at the first occurrence).
fn brute_force(spec: &Spec, zone: &str, t: i64) -> Option<i64> {
    let tz = jiff::tz::TimeZone::get(zone).unwrap();
    let mut u = (t.div_euclid(60) + 1) * 60;
    let end = u + HORIZON_MINUTES * 60;
    let ts = |s: i64| jiff::Timestamp::from_second(s).unwrap();
    let mut off = i64::from(tz.to_offset(ts(u - 1)).seconds());
    // (instant, offset after) of each transition from u on.
    let mut transitions = tz
        .following(ts(u - 1))
        .take_while(|tr| tr.timestamp().as_second() <= end)
        .map(|tr| (tr.timestamp().as_second(), i64::from(tr.offset().seconds())))
        .collect::<Vec<_>>()
        .into_iter()
        .peekable();
    let mut fold_until = i64::MIN;
    // `t` may fall inside the repeated hour of a fall-back that happened before `u`: those
    // local times already fired at their first occurrence too.
    if let Some(prev) = tz.preceding(ts(u)).next() {
        let at = prev.timestamp().as_second();
        let after = i64::from(prev.offset().seconds());
        let before = i64::from(tz.to_offset(ts(at - 1)).seconds());
        if after < before {
            fold_until = at + (before - after);
        }
    }
    while u <= end {
        let mut gap = None;
        while let Some(&(at, after)) = transitions.peek() {
            if at > u {
                break;
            }
            if after > off {
                gap = Some((u + off, u + after));
            } else if after < off {
                fold_until = at + (off - after);
            }
            off = after;
            transitions.next();
        }
        if let Some((from, to)) = gap {
            let mut g = from;
            while g < to {
                if spec.matches(&civil(g)) {
                    return Some(u);
                }
                g += 60;
            }
        }
        if u >= fold_until && spec.matches(&civil(u + off)) {
            return Some(u);
        }
        u += 60;
    }
    None
}

fn times() -> impl Strategy<Value = Vec<(u32, u32)>> {
    prop::collection::vec(
        (
            prop_oneof![0..4u32, 0..24u32],
            prop_oneof![Just(0u32), Just(30), Just(15), Just(45), 0..60u32],
        ),
        1..4,
    )
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        times().prop_map(|times| Spec::Daily { times }),
        (prop::collection::vec(0..7u32, 1..4), times())
            .prop_map(|(weekdays, times)| Spec::Weekly { weekdays, times }),
        (
            prop::collection::vec(prop_oneof![28..32u32, 1..32u32], 1..3),
            any::<bool>(),
            times()
        )
            .prop_map(|(days, last, times)| Spec::Monthly { days, last, times }),
        (
            prop::collection::vec(0..60u32, 1..3),
            prop::option::of(prop::collection::vec(prop_oneof![0..4u32, 0..24u32], 1..4)),
            prop::option::of(prop::collection::vec(
                prop_oneof![28..32u32, 1..32u32],
                1..3
            )),
            prop::bool::weighted(0.2),
            prop::option::weighted(0.3, prop::collection::vec(1..13u32, 3..6)),
            prop::option::of(prop::collection::vec(0..8u32, 1..3)),
            prop::option::weighted(0.2, (0..8u32, 1..6u32)),
        )
            .prop_map(
                |(mins, hours, dom, dom_last, months, dow, nth)| Spec::Cron {
                    mins,
                    hours,
                    dom,
                    dom_last,
                    months,
                    dow,
                    nth
                }
            ),
    ]
}

/// Instants in 1970..2400, often right around a DST transition of the zone, a year end or a
/// leap day.
fn instant(zone: &'static str) -> impl Strategy<Value = i64> {
    let max = 13_569_465_600i64; // 2400-01-01
    (
        0..max,
        prop_oneof![0..4u8, Just(1u8)],
        -3 * 86_400..3 * 86_400i64,
    )
        .prop_map(move |(base, mode, delta)| match mode {
            0 => base,
            1 => {
                let tz = jiff::tz::TimeZone::get(zone).unwrap();
                let next = tz
                    .following(jiff::Timestamp::from_second(base).unwrap())
                    .next();
                next.map_or(base, |tr| tr.timestamp().as_second()) + delta
            }
            2 => {
                let y = 1971 + (base % 400) as i32;
                chrono::NaiveDate::from_ymd_opt(y, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp()
                    + delta
            }
            _ => {
                let y = 1972 + 4 * (base % 100) as i32;
                let y = if y % 100 == 0 && y % 400 != 0 {
                    y + 4
                } else {
                    y
                };
                chrono::NaiveDate::from_ymd_opt(y, 2, 29)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp()
                    + delta
            }
        })
}

fn check(spec: &Spec, zone: &str, t: i64) -> Result<(), TestCaseError> {
    let json = spec.task_json(zone);
    let cfg = match parse_stored_config(&json) {
        Ok(c) => c,
        Err(e) => {
            // Only "can never fire" crons may be rejected; the reference must agree over a
            // horizon (it never finds anything).
            prop_assert!(e.to_string().contains("can never fire"), "{json}: {e}");
            prop_assert_eq!(brute_force(spec, zone, t), None);
            return Ok(());
        }
    };
    let ours = cfg.scheduled_tasks()[0]
        .schedule()
        .next_fire_after(Instant::from_unix_seconds(t))
        .map(|i| i.unix_seconds());
    let reference = brute_force(spec, zone, t);
    match reference {
        Some(r) => prop_assert_eq!(
            ours,
            Some(r),
            "{} in {} after {}",
            json,
            zone,
            Instant::from_unix_seconds(t)
        ),
        None => prop_assert!(
            ours.is_none_or(|o| o > (t.div_euclid(60) + 1) * 60 + HORIZON_MINUTES * 60),
            "{json} after {}: ours {:?}, reference found nothing in the horizon",
            Instant::from_unix_seconds(t),
            ours.map(Instant::from_unix_seconds)
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn matches_brute_force((zone, spec, t) in (0..ZONES.len()).prop_flat_map(|i| (Just(ZONES[i]), spec(), instant(ZONES[i])))) {
        check(&spec, zone, t)?;
    }

    #[test]
    fn one_shots_match_brute_force(zone_i in 0..ZONES.len(), t in 0..13_569_465_600i64, days in -2..40i64, times in times()) {
        let zone = ZONES[zone_i];
        let (y, m, d) = { let dt = civil(t + days * 86_400); (dt.year(), dt.month(), dt.day()) };
        check(&Spec::Once { date: (y, m, d), times }, zone, t)?;
    }
}

/// The DST cases spelled out in the product's promise.
#[test]
fn dst_examples() {
    let check = |zone: &str, expr: &str, after: &str, want: &str| {
        let s = Schedule::from_cron(expr, scheduler_core::Zone::get(zone).unwrap()).unwrap();
        let after: jiff::Timestamp = after.parse().unwrap();
        let got = s
            .next_fire_after(Instant::from_unix_seconds(after.as_second()))
            .unwrap();
        assert_eq!(got.to_string(), want, "{zone} {expr} after {after}");
    };
    // Lord Howe moves 30 minutes: 02:00 -> 02:30 on 2024-10-06 (15:00Z on the 5th).
    check(
        "Australia/Lord_Howe",
        "15 2 * * *",
        "2024-10-05T12:00:00Z",
        "2024-10-05T15:30:00Z",
    );
    // Chatham: 02:45 -> 03:45 on 2024-09-29 (2024-09-28T14:00Z).
    check(
        "Pacific/Chatham",
        "0 3 * * *",
        "2024-09-28T12:00:00Z",
        "2024-09-28T14:00:00Z",
    );
    // London fall back 2024-10-27: 01:30 happens at 00:30Z (BST) and 01:30Z (GMT); fires once.
    check(
        "Europe/London",
        "30 1 * * *",
        "2024-10-26T12:00:00Z",
        "2024-10-27T00:30:00Z",
    );
    check(
        "Europe/London",
        "30 1 * * *",
        "2024-10-27T00:30:00Z",
        "2024-10-28T01:30:00Z",
    );
    // Kolkata has no DST.
    check(
        "Asia/Kolkata",
        "0 0 29 2 *",
        "2024-03-01T00:00:00Z",
        "2028-02-28T18:30:00Z",
    );
}

#[test]
fn range_ends() {
    let s = Schedule::from_cron("0 0 1 1 *", scheduler_core::Zone::utc()).unwrap();
    assert_eq!(
        s.next_fire_after(Instant::from_utc(9999, 1, 1, 0, 0).unwrap()),
        None
    );
    assert_eq!(
        s.next_fire_after(Instant::from_unix_seconds(-1))
            .unwrap()
            .to_string(),
        "1970-01-01T00:00:00Z"
    );
    let s = Schedule::from_cron(
        "59 23 31 12 *",
        scheduler_core::Zone::get("Pacific/Chatham").unwrap(),
    )
    .unwrap();
    // 9999-12-31 23:59 in Chatham is still within the range in UTC.
    assert!(s
        .next_fire_after(Instant::from_utc(9999, 6, 1, 0, 0).unwrap())
        .is_some());
    let s = Schedule::from_cron(
        "59 23 31 12 *",
        scheduler_core::Zone::get("America/New_York").unwrap(),
    )
    .unwrap();
    // ...but in New York it would be in year 10000 UTC.
    assert_eq!(
        s.next_fire_after(Instant::from_utc(9999, 6, 1, 0, 0).unwrap()),
        None
    );
}

/// Found by `matches_brute_force` in CI: an instant inside the repeated hour of a fall-back.
/// 01:45 New York on 2074-11-04 first occurs at 05:45Z (EDT); from 06:00Z (01:00 EST, the
/// repeated hour) the next firing is the next day's, not the second 01:45.
#[test]
fn inside_a_fold_the_repeated_time_does_not_fire_again() {
    let json = r#"{"format": "clearml-task-scheduler/v1", "name": "p", "scheduled_tasks": [{"id": "x", "base_task_id": "b", "queue": "q", "timezone": "America/New_York", "recurrence": "daily", "times": ["01:45"]}]}"#;
    let config = scheduler_core::parse_stored_config(json).unwrap();
    let schedule = config.scheduled_tasks()[0].schedule();
    let t = scheduler_core::Instant::from_unix_seconds(3_308_536_800); // 2074-11-04T06:00:00Z
    let next = schedule.next_fire_after(t).unwrap();
    assert_eq!(
        next.unix_seconds(),
        3_308_625_900,
        "2074-11-05T06:45:00Z, got {next}"
    );
    let before = scheduler_core::Instant::from_unix_seconds(3_308_536_800 - 1800); // 05:30Z
    assert_eq!(
        schedule.next_fire_after(before).unwrap().unix_seconds(),
        3_308_535_900
    ); // 05:45Z
}
