//! Next fire, side by side: the core against saffron 0.1, cron 0.17 and croner 4 (the Rust
//! peers), as medians of the per-call time over many rounds of 1,024 start instants spread over
//! 2000..2100. Then how each peer reacts to a schedule that can never fire (`0 0 30 2 *`) and
//! how long it takes to say so.
//!
//! Prints a human table; with `BENCH_JSON=<file>` also writes the figures as JSON (read by
//! `tests/bench/report.py`, which `scripts/bench.sh` runs).
//!
//! Run: `cargo bench -p scheduler-core --bench peers`.

use std::hint::black_box;
use std::str::FromStr;

use serde_json::{json, Value};

#[path = "cases.rs"]
mod cases;
use cases::median_ns;

/// Times one call, repeated `rounds` times (median), for the slow "search for years" peers.
fn median_once<T>(rounds: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = None;
    let ns = median_ns(rounds, 1, || out = Some(black_box(f())));
    (ns, out.unwrap())
}

fn main() {
    let starts = cases::starts(1024);
    let chrono_starts: Vec<_> = starts.iter().map(|t| cases::to_chrono(*t)).collect();
    let mut rows = Vec::new();
    println!(
        "{:<24} {:>9} {:>11} {:>9} {:>10} {:>9} {:>9} {:>9}",
        "case", "ours ns", "saffron ns", "cron ns", "croner ns", "saffron/", "cron/", "croner/"
    );
    for case in cases::cases() {
        // The cron crate's pattern has a seconds field first; croner takes the 5-field form.
        let five = case.cron.source().split_once(' ').unwrap().1;
        let croner = croner::Cron::from_str(five).unwrap();
        // Same answers first, on the first 64 starts: saffron and croner must agree; the cron
        // crate stops searching at the year 2100, so it may answer None where we find 2104.
        let mut cron_disagrees = 0;
        for (t, c) in starts.iter().zip(&chrono_starts).take(64) {
            let ours = case.ours.next_fire_after(*t).map(|i| i.unix_seconds());
            let saffron = case.saffron.next_after(*c).map(|d| d.timestamp());
            let cron = case.cron.after(c).next().map(|d| d.timestamp());
            let cr = croner
                .find_next_occurrence(c, false)
                .ok()
                .map(|d| d.timestamp());
            assert_eq!(ours, saffron, "saffron: {} after {t}", case.name);
            assert_eq!(ours, cr, "croner: {} after {t}", case.name);
            if ours != cron {
                assert!(
                    cron.is_none() && ours > Some(4_102_444_800),
                    "cron: {} after {t}",
                    case.name
                );
                cron_disagrees += 1;
            }
        }
        let ours = median_ns(201, starts.len(), || {
            for t in &starts {
                black_box(case.ours.next_fire_after(black_box(*t)));
            }
        });
        let saffron = median_ns(101, starts.len(), || {
            for t in &chrono_starts {
                black_box(case.saffron.next_after(black_box(*t)));
            }
        });
        let cron = median_ns(21, 256, || {
            for t in &chrono_starts[..256] {
                black_box(case.cron.after(black_box(t)).next());
            }
        });
        let cr = median_ns(21, 256, || {
            for t in &chrono_starts[..256] {
                black_box(croner.find_next_occurrence(black_box(t), false).ok());
            }
        });
        println!(
            "{:<24} {:>9.1} {:>11.1} {:>9.1} {:>10.1} {:>8.1}x {:>8.1}x {:>8.1}x",
            case.name,
            ours,
            saffron,
            cron,
            cr,
            saffron / ours,
            cron / ours,
            cr / ours
        );
        rows.push(
            json!({"case": case.name, "ours_ns": ours, "saffron_ns": saffron,
                         "cron_ns": cron, "croner_ns": cr, "cron_none_after_2100": cron_disagrees}),
        );
    }

    // An impossible schedule: February 30th. Parse (and, for the peers that accept it, the
    // first next-fire search from 2026-01-01).
    let t0 = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap();
    let zone = scheduler_core::Zone::utc();
    let mut impossible = Vec::new();
    let (ns, res) = median_once(1001, || {
        scheduler_core::Schedule::from_cron(black_box("0 0 30 2 *"), zone.clone())
    });
    let msg = res.err().unwrap_or_else(|| "accepted".into());
    impossible.push(json!({"who": "ours (Schedule::from_cron)", "ns": ns,
        "reaction": format!("rejected at parse: \"{msg}\"")}));
    let (ns, res) = median_once(1001, || {
        let c: Result<saffron::Cron, _> = black_box("0 0 30 2 *").parse();
        c.map(|c| (c.any(), c.next_after(t0)))
    });
    let reaction = match res {
        Err(e) => format!("parse error: {e:?}"),
        Ok((any, next)) => format!("parses; any() = {any}; next_after = {next:?}"),
    };
    impossible.push(
        json!({"who": "saffron 0.1 (parse + any() + next_after)", "ns": ns, "reaction": reaction}),
    );
    let (ns, res) = median_once(21, || {
        cron::Schedule::from_str(black_box("0 0 0 30 2 *")).map(|s| s.after(&t0).next())
    });
    let reaction = match res {
        Err(e) => format!("parse error: {e}"),
        Ok(next) => format!("parses; after().next() = {next:?} (searched until its year limit)"),
    };
    impossible
        .push(json!({"who": "cron 0.17 (parse + after().next())", "ns": ns, "reaction": reaction}));
    let (ns, res) = median_once(5, || {
        croner::Cron::from_str(black_box("0 0 30 2 *")).map(|c| c.find_next_occurrence(&t0, false))
    });
    let reaction = match res {
        Err(e) => format!("parse error: {e}"),
        Ok(Ok(next)) => format!("parses; next = {next}"),
        Ok(Err(e)) => format!("parses; find_next_occurrence errs after searching: {e}"),
    };
    impossible.push(
        json!({"who": "croner 4 (parse + find_next_occurrence)", "ns": ns, "reaction": reaction}),
    );
    println!();
    println!("impossible schedule \"0 0 30 2 *\":");
    for i in &impossible {
        println!(
            "  {:<44} {:>14.0} ns  {}",
            i["who"].as_str().unwrap(),
            i["ns"].as_f64().unwrap(),
            i["reaction"].as_str().unwrap()
        );
    }

    if let Ok(path) = std::env::var("BENCH_JSON") {
        let out: Value =
            json!({"next_fire": rows, "impossible": impossible, "starts": starts.len()});
        std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
        println!("wrote {path}");
    }
}
