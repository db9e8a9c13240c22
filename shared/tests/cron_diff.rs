//! Differential tests: our cron parser and search against the `croner` crate (UTC).

use std::str::FromStr;

use proptest::prelude::*;
use scheduler_core::{Instant, Schedule, Zone};

/// One list item of a field with values in `lo..=hi` (names for months/weekdays sometimes).
fn item(lo: u32, hi: u32, names: &'static [&'static str]) -> impl Strategy<Value = String> {
    let name = move |v: u32| {
        // croner 4 misreads `SUN` inside ranges ("SUN-SUN" matches Monday), so Sunday stays numeric.
        if !names.is_empty() && v.is_multiple_of(3) && !(names.len() == 7 && v.is_multiple_of(7)) {
            names[(v - lo) as usize % names.len()].to_string()
        } else {
            v.to_string()
        }
    };
    prop_oneof![
        (lo..=hi).prop_map(name),
        (lo..=hi, lo..=hi).prop_map(move |(a, b)| format!("{}-{}", name(a.min(b)), name(a.max(b)))),
        (lo..=hi, lo..=hi, 1..8u32).prop_map(|(a, b, s)| format!("{}-{}/{s}", a.min(b), a.max(b))),
        (lo..=hi, 1..12u32).prop_map(|(a, s)| format!("{a}/{s}")),
        (1..20u32).prop_map(|s| format!("*/{s}")),
    ]
}

fn field(
    lo: u32,
    hi: u32,
    names: &'static [&'static str],
    star: f64,
) -> impl Strategy<Value = String> {
    prop_oneof![
        (star) as u32 => Just("*".to_string()),
        10 => prop::collection::vec(item(lo, hi, names), 1..3).prop_map(|v| v.join(",")),
    ]
}

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn expr() -> impl Strategy<Value = String> {
    (
        field(0, 59, &[], 3.0),
        field(0, 23, &[], 5.0),
        prop_oneof![4 => field(1, 31, &[], 10.0), 1 => Just("L".to_string())],
        field(1, 12, MONTHS, 10.0),
        prop_oneof![4 => field(0, 7, DAYS, 10.0), 1 => (0..7u32, 1..6u32).prop_map(|(d, n)| format!("{d}#{n}"))],
    )
        .prop_filter("day fields: `*/n` is a wildcard for Vixie cron but not for croner", |(_, _, dom, _, dow)| {
            let restricted = |f: &str| f != "*";
            !(restricted(dom) && restricted(dow) && (dom.starts_with('*') || dow.starts_with('*')))
        })
        .prop_map(|(mi, h, dom, mo, dow)| format!("{mi} {h} {dom} {mo} {dow}"))
}

/// croner does not accept Vixie's `A/STEP` (A to the field maximum); spell it `A-MAX/STEP`.
fn for_croner(expr: &str) -> String {
    let max = [59, 23, 31, 12, 7];
    expr.split(' ')
        .zip(max)
        .map(|(field, max)| {
            field
                .split(',')
                .map(|item| match item.split_once('/') {
                    Some((a, s)) if a.bytes().all(|b| b.is_ascii_digit()) => {
                        format!("{a}-{max}/{s}")
                    }
                    _ => item.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_croner(expr in expr(), t in 0..4_102_444_800i64) {
        let ours = match Schedule::from_cron(&expr, Zone::utc()) {
            Ok(s) => s,
            Err(e) => {
                // Only impossible patterns are rejected; croner must find nothing either.
                prop_assert!(e.contains("can never fire"), "{}: {}", expr, e);
                return Ok(());
            }
        };
        let theirs = croner::Cron::from_str(&for_croner(&expr)).unwrap_or_else(|e| panic!("croner rejects {expr}: {e}"));
        let mut a = Instant::from_unix_seconds(t);
        let mut b = chrono::DateTime::from_timestamp(t, 0).unwrap();
        for _ in 0..5 {
            let next_ours = ours.next_fire_after(a);
            let next_theirs = theirs.find_next_occurrence(&b, false).ok();
            prop_assert_eq!(next_ours.map(|i| i.unix_seconds()), next_theirs.map(|d| d.timestamp()), "{} after {}", expr, a);
            match (next_ours, next_theirs) {
                (Some(x), Some(y)) => { a = x; b = y; }
                _ => break,
            }
        }
    }
}

#[test]
fn agrees_with_the_cron_crate_on_fixed_patterns() {
    // The `cron` crate wants a seconds field and a 1-7 (Sunday = 1) weekday numbering, so compare
    // on name-based patterns that mean the same in both.
    let cases = [
        ("*/15 * * * *", "0 */15 * * * *"),
        ("30 6 * * MON-FRI", "0 30 6 * * MON-FRI"),
        ("0 0 1,15 * *", "0 0 0 1,15 * *"),
        ("5 4 * JAN,JUL *", "0 5 4 * JAN,JUL *"),
        ("0 12 29 2 *", "0 0 12 29 2 *"),
    ];
    for (ours, theirs) in cases {
        let s = Schedule::from_cron(ours, Zone::utc()).unwrap();
        let c = cron::Schedule::from_str(theirs).unwrap();
        let start = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut t = Instant::from_unix_seconds(start.timestamp());
        for want in c.after(&start).take(20) {
            let got = s.next_fire_after(t).unwrap();
            assert_eq!(got.unix_seconds(), want.timestamp(), "{ours}");
            t = got;
        }
    }
}
