//! What the fuzzer checks on one input, shared by the `fuzz` binary and the regression test
//! `tests/tests/fuzz_regressions.rs` (which replays every saved crash through the same checks).
//!
//! Each check returns `Ok(outcome)` (accepted, or rejected with an error message) or `Err(text)`
//! for an invariant that does not hold. A panic inside is caught by the caller.

use scheduler_core::{parse_any_config, parse_stored_config, Instant, Schedule, Zone};

/// Accepted, or rejected with this (first) error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Rejected(String),
}

/// The "now" every config input is parsed at.
pub fn fuzz_now() -> Instant {
    Instant::from_utc(2026, 11, 25, 10, 0).unwrap()
}

/// Instants next-fire is probed from.
pub fn probes() -> Vec<Instant> {
    vec![
        fuzz_now(),
        Instant::from_utc(1970, 1, 1, 0, 0).unwrap(),
        Instant::from_utc(2024, 2, 28, 23, 59).unwrap(),
        Instant::from_utc(2026, 3, 29, 0, 59).unwrap(),
        Instant::from_utc(2026, 10, 25, 0, 30)
            .unwrap()
            .add_seconds(17),
        Instant::from_utc(2099, 12, 31, 23, 59).unwrap(),
    ]
}

fn check_schedule(s: &Schedule, what: &str, must_fire_after_now: bool) -> Result<(), String> {
    for p in probes() {
        if let Some(n) = s.next_fire_after(p) {
            if n <= p {
                return Err(format!("{what}: next_fire_after({p}) = {n}, not after it"));
            }
            if n.unix_seconds().rem_euclid(60) != 0 {
                return Err(format!("{what}: next fire {n} is not on a whole minute"));
            }
            let up = s.upcoming(p, 4);
            if up.windows(2).any(|w| w[0] >= w[1]) || up.first() != Some(&n) {
                return Err(format!(
                    "{what}: upcoming({p}) {up:?} not increasing from {n}"
                ));
            }
        } else if must_fire_after_now && p == fuzz_now() {
            return Err(format!("{what}: accepted but never fires after {p}"));
        }
    }
    Ok(())
}

/// The configuration parser (either format), then: the export re-imports and is byte-stable,
/// and every accepted task's schedule answers next-fire correctly.
pub fn check_config(input: &str) -> Result<Outcome, String> {
    let now = fuzz_now();
    let config = match parse_any_config(input, now) {
        Err(e) => {
            let text = e.to_string();
            if text.trim().is_empty() {
                return Err("rejected with an empty error".into());
            }
            return Ok(Outcome::Rejected(
                text.lines().next().unwrap_or("").to_string(),
            ));
        }
        Ok(c) => c,
    };
    let exported = config.to_json();
    let again = parse_stored_config(&exported)
        .map_err(|e| format!("the export does not import again: {e}\nexport: {exported}"))?;
    let twice = again.to_json();
    if twice != exported {
        return Err(format!(
            "export not byte-stable:\nfirst:  {exported}\nsecond: {twice}"
        ));
    }
    for t in config.scheduled_tasks() {
        // A one-shot's times may all lie before the 1970 probe etc.; only "after now" must fire.
        check_schedule(
            t.schedule(),
            &format!("task {}", t.id()),
            t.recurrence().kind() != "none",
        )?;
    }
    Ok(Outcome::Accepted)
}

/// Zones the cron target draws from (by the input's first byte).
pub const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
];

/// The cron parser in `zone`, then next-fire on what parses: strictly after, whole minutes,
/// increasing; an accepted expression can fire (impossible ones are rejected at parse).
pub fn check_cron(expr: &str, zone: &str) -> Result<Outcome, String> {
    let zone = Zone::get(zone).map_err(|e| format!("zone {zone}: {e}"))?;
    match Schedule::from_cron(expr, zone) {
        Err(e) => {
            if e.trim().is_empty() {
                return Err("rejected with an empty error".into());
            }
            Ok(Outcome::Rejected(e))
        }
        Ok(s) => {
            if !s.can_fire() {
                return Err(format!("{expr:?} accepted but can_fire() is false"));
            }
            check_schedule(&s, &format!("cron {expr:?}"), true)?;
            Ok(Outcome::Accepted)
        }
    }
}
