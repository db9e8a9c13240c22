//! Replays every input under `tests/fuzz-regressions/` through the fuzzer's own checks
//! (`src/bin/fuzz/checks.rs`): no panic, and the invariants hold (next fire strictly after,
//! on whole minutes, increasing; an accepted schedule fires; the export re-imports byte-stable).

#[path = "../src/bin/fuzz/checks.rs"]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

fn replay(target: &str, check: impl Fn(&[u8]) -> Result<checks::Outcome, String>) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-regressions")
        .join(target);
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let input = std::fs::read(&path).unwrap();
        let result = catch_unwind(AssertUnwindSafe(|| check(&input)));
        match result {
            Err(_) => panic!("{} panics", path.display()),
            Ok(Err(why)) => panic!("{}: {why}", path.display()),
            Ok(Ok(_)) => n += 1,
        }
    }
    n
}

#[test]
fn saved_config_inputs_neither_panic_nor_break_invariants() {
    let n = replay("config", |b| {
        checks::check_config(&String::from_utf8_lossy(b))
    });
    assert!(n >= 1);
}

#[test]
fn saved_cron_inputs_neither_panic_nor_break_invariants() {
    let n = replay("cron", |b| {
        let zone = checks::ZONES[b.first().copied().unwrap_or(0) as usize % checks::ZONES.len()];
        checks::check_cron(&String::from_utf8_lossy(b), zone)
    });
    assert!(n >= 1);
}

#[test]
fn an_impossible_cron_is_rejected_not_accepted() {
    let zone = "UTC";
    assert!(matches!(
        checks::check_cron("0 0 30 2 *", zone),
        Ok(checks::Outcome::Rejected(_))
    ));
    assert_eq!(
        checks::check_cron("0 0 29 2 *", zone),
        Ok(checks::Outcome::Accepted)
    );
}

/// Found by the fuzzer: `v += step` overflowed in the cron field walk. In a debug build that
/// panicked; in release (the worker) it wrapped around and set the wrong bits, so
/// `59/4294967295 * * * *` fired every minute instead of at minute 59 only.
#[test]
fn a_huge_cron_step_neither_panics_nor_wraps_around() {
    use scheduler_core::{Instant, Schedule, Zone};
    let s = Schedule::from_cron("59/4294967295 * * * *", Zone::utc()).unwrap();
    let t = Instant::from_utc(2026, 11, 25, 10, 0).unwrap();
    assert_eq!(
        s.upcoming(t, 3),
        vec![
            Instant::from_utc(2026, 11, 25, 10, 59).unwrap(),
            Instant::from_utc(2026, 11, 25, 11, 59).unwrap(),
            Instant::from_utc(2026, 11, 25, 12, 59).unwrap(),
        ]
    );
    let s = Schedule::from_cron("0 10/4294967292 * * *", Zone::utc()).unwrap();
    assert_eq!(
        s.next_fire_after(t),
        Some(Instant::from_utc(2026, 11, 26, 10, 0).unwrap()),
        "hour 10 only, not 10, 6 and 2"
    );
}
