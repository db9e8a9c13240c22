// Shared by both benches: the cases, as (name, our config task JSON, saffron pattern, cron-crate
// pattern with seconds).
use std::str::FromStr;

use scheduler_core::{parse_stored_config, Instant, Schedule};

pub struct Case {
    pub name: &'static str,
    pub ours: Schedule,
    pub saffron: saffron::Cron,
    pub cron: cron::Schedule,
}

fn task(body: &str) -> Schedule {
    let json = format!(
        r#"{{"format": "clearml-task-scheduler/v1", "name": "b", "scheduled_tasks": [{{"id": "x", "base_task_id": "b", "queue": "q", {body}}}]}}"#
    );
    parse_stored_config(&json).unwrap().scheduled_tasks()[0]
        .schedule()
        .clone()
}

pub fn cases() -> Vec<Case> {
    let c = |name, ours: Schedule, saffron: &str, cron: &str| Case {
        name,
        ours,
        saffron: saffron.parse().unwrap(),
        cron: cron::Schedule::from_str(cron).unwrap(),
    };
    vec![
        c(
            "daily 06:20",
            task(r#""recurrence": "daily", "times": ["06:20"]"#),
            "20 6 * * *",
            "0 20 6 * * *",
        ),
        c(
            "weekly mon,fri 08:30",
            task(r#""recurrence": "weekly", "weekdays": ["monday", "friday"], "times": ["08:30"]"#),
            "30 8 * * MON,FRI",
            "0 30 8 * * MON,FRI",
        ),
        c(
            "monthly 15th 12:00",
            task(r#""recurrence": "monthly", "days": [15], "times": ["12:00"]"#),
            "0 12 15 * *",
            "0 0 12 15 * *",
        ),
        c(
            "monthly day 31",
            task(r#""recurrence": "monthly", "days": [31], "times": ["00:00"]"#),
            "0 0 31 * *",
            "0 0 0 31 * *",
        ),
        c(
            "feb 29",
            task(r#""recurrence": "cron", "cron": "0 12 29 2 *""#),
            "0 12 29 2 *",
            "0 0 12 29 2 *",
        ),
        c(
            "every minute",
            task(r#""recurrence": "cron", "cron": "* * * * *""#),
            "* * * * *",
            "0 * * * * *",
        ),
        c(
            "*/15 9-17 * * MON-FRI",
            task(r#""recurrence": "cron", "cron": "*/15 9-17 * * MON-FRI""#),
            "*/15 9-17 * * MON-FRI",
            "0 */15 9-17 * * MON-FRI",
        ),
    ]
}

/// Deterministic start instants spread over 2000..2100.
pub fn starts(n: usize) -> Vec<Instant> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let s = 946_684_800 + (x.wrapping_mul(0x2545_f491_4f6c_dd1d) % 3_155_760_000) as i64;
            Instant::from_unix_seconds(s)
        })
        .collect()
}

pub fn to_chrono(t: Instant) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_seconds(), 0).unwrap()
}

/// The median over `rounds` runs of `f` of the time per item, `f` doing `per_round` items.
#[allow(dead_code)] // not every bench that includes this file times by hand
pub fn median_ns(rounds: usize, per_round: usize, mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = std::time::Instant::now();
            f();
            t.elapsed().as_nanos() as f64 / per_round as f64
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}
