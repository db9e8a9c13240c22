//! Criterion benchmark of next-fire: ours, saffron 0.1 and cron 0.17 on the same cases.
//! For the ratio table see `benches/ratios.rs`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "cases.rs"]
mod cases;

fn bench(c: &mut Criterion) {
    let starts = cases::starts(256);
    let chrono_starts: Vec<_> = starts.iter().map(|t| cases::to_chrono(*t)).collect();
    for case in cases::cases() {
        let mut g = c.benchmark_group(case.name);
        g.bench_function("ours", |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % starts.len();
                case.ours.next_fire_after(black_box(starts[i]))
            })
        });
        g.bench_function("saffron", |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % starts.len();
                case.saffron.next_after(black_box(chrono_starts[i]))
            })
        });
        g.bench_function("cron", |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % starts.len();
                case.cron.after(black_box(&chrono_starts[i])).next()
            })
        });
        g.finish();
    }
    c.bench_function("reject impossible cron", |b| {
        b.iter(|| {
            scheduler_core::Schedule::from_cron(
                black_box("0 0 30 2 *"),
                scheduler_core::Zone::utc(),
            )
            .is_err()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1)).sample_size(20);
    targets = bench
}
criterion_main!(benches);
