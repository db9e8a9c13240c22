//! Prints "case / ours ns / saffron ns / cron ns / ratio": the median over many rounds of the
//! per-call time of next-fire from 1,024 start instants, ours against saffron 0.1 and cron 0.17.
//! Also times rejecting an impossible schedule.
//!
//! Run: `cargo bench -p scheduler-core --bench ratios`.

use std::hint::black_box;

#[path = "cases.rs"]
mod cases;
use cases::median_ns;

fn main() {
    let starts = cases::starts(1024);
    let chrono_starts: Vec<_> = starts.iter().map(|t| cases::to_chrono(*t)).collect();
    println!(
        "{:<24} {:>10} {:>12} {:>10} {:>14} {:>12}",
        "case", "ours ns", "saffron ns", "cron ns", "saffron/ours", "cron/ours"
    );
    let mut worst: f64 = f64::MAX;
    for case in cases::cases() {
        // Same answers first.
        for (t, c) in starts.iter().zip(&chrono_starts).take(64) {
            let ours = case.ours.next_fire_after(*t).map(|i| i.unix_seconds());
            let theirs = case.saffron.next_after(*c).map(|d| d.timestamp());
            assert_eq!(ours, theirs, "{} after {t}", case.name);
        }
        let ours = median_ns(101, starts.len(), || {
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
        worst = worst.min(saffron / ours);
        println!(
            "{:<24} {:>10.1} {:>12.1} {:>10.1} {:>13.1}x {:>11.1}x",
            case.name,
            ours,
            saffron,
            cron,
            saffron / ours,
            cron / ours
        );
    }
    println!("smallest speed-up over saffron: {worst:.1}x");

    let zone = scheduler_core::Zone::utc();
    let reject = median_ns(101, 1000, || {
        for _ in 0..1000 {
            black_box(
                scheduler_core::Schedule::from_cron(black_box("0 0 30 2 *"), zone.clone()).is_err(),
            );
        }
    });
    println!(
        "reject impossible cron \"0 0 30 2 *\" (parse + constant-time mask check): {reject:.1} ns"
    );
    let ok = scheduler_core::Schedule::from_cron("0 0 29 2 *", zone.clone()).unwrap();
    let check = median_ns(101, 1000, || {
        for _ in 0..1000 {
            black_box(black_box(&ok).can_fire());
        }
    });
    println!("can_fire() mask check alone: {check:.1} ns");
}
