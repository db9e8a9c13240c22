//! The tick's CPU, natively: what the worker does around `plan_tick` at 1k, 10k and 100k
//! scheduled rows over 1,000 instances. Prints each figure and its share of Cloudflare
//! Free's 10 ms CPU limit per invocation.
//!
//! - idle: parse the `index` (1,000 instances) and compare each with the ticker: the whole
//!   CPU of a tick with nothing due;
//! - one due instance: parse its configuration and state, plan, serialize the state;
//! - replan all: every instance planned in one tick (all configurations changed at once).
//!
//! Then the same at the layout `tests/tests/tick_bench.rs` times in workerd: 500 rows per
//! instance (the per-instance limit), 2 / 20 / 200 instances for 1k / 10k / 100k rows, so the
//! wasm figures have a native counterpart. With `BENCH_JSON=<file>` the figures are also written
//! as JSON.
//!
//! Run: `cargo bench -p scheduler-core --bench tick`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant as Clock;

use scheduler_core::{parse_stored_config, plan_tick, InstanceState, Instant};
use serde::{Deserialize, Serialize};

const INSTANCES: usize = 1000;
const FREE_CPU_NS: f64 = 10_000_000.0;

/// The worker's `index` entry (worker/src/store.rs), mirrored.
#[derive(Serialize, Deserialize)]
struct IndexEntry {
    id: String,
    name: String,
    revision: u64,
    #[serde(default)]
    paused: bool,
    task_count: usize,
}

#[derive(Serialize, Deserialize)]
struct Index {
    instances: Vec<IndexEntry>,
}

fn config_json(instance: usize, tasks: usize) -> String {
    let items: Vec<String> = (0..tasks)
        .map(|t| {
            let (rec, extra) = match t % 4 {
                0 => ("daily", String::new()),
                1 => ("weekly", r#", "weekdays": ["monday", "friday"]"#.to_string()),
                2 => ("monthly", r#", "days": [1, 15, "last"]"#.to_string()),
                _ => ("daily", r#", "timezone": "Europe/Berlin""#.to_string()),
            };
            format!(
                r#"{{"id": "t{t}", "base_task_id": "aabbccddeeff0011223344556677{:04}", "destination_project": "Scheduled/proj{instance}", "queue": "default", "recurrence": "{rec}", "times": ["{:02}:{:02}"]{extra}}}"#,
                t % 10_000,
                t % 24,
                (t * 7) % 60
            )
        })
        .collect();
    format!(
        r#"{{"format": "clearml-task-scheduler/v1", "name": "instance {instance}", "scheduled_tasks": [{}]}}"#,
        items.join(", ")
    )
}

fn median_ns(rounds: usize, mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Clock::now();
            f();
            t.elapsed().as_nanos() as f64
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn index_json(instances: usize, tasks: usize) -> String {
    serde_json::to_string(&Index {
        instances: (0..instances)
            .map(|i| IndexEntry {
                id: format!("{:032x}", i * 7919),
                name: format!("instance {i}"),
                revision: 3,
                paused: false,
                task_count: tasks,
            })
            .collect(),
    })
    .unwrap()
}

fn main() {
    let mut figures = Vec::new();
    let saved = Instant::from_utc(2026, 11, 25, 10, 0).unwrap();
    let now = Instant::from_utc(2026, 11, 26, 6, 20).unwrap();
    let index = serde_json::to_string(&Index {
        instances: (0..INSTANCES)
            .map(|i| IndexEntry {
                id: format!("{:032x}", i * 7919),
                name: format!("instance {i}"),
                revision: 3,
                paused: false,
                task_count: 100,
            })
            .collect(),
    })
    .unwrap();
    let ticker: BTreeMap<String, (u64, Option<Instant>)> = (0..INSTANCES)
        .map(|i| {
            (
                format!("{:032x}", i * 7919),
                (3, Some(now.add_seconds(3600))),
            )
        })
        .collect();
    let idle = median_ns(201, || {
        let index: Index = serde_json::from_str(black_box(&index)).unwrap();
        let due = index
            .instances
            .iter()
            .filter(|e| match ticker.get(&e.id) {
                Some((rev, next)) => *rev != e.revision || next.is_some_and(|d| d <= now),
                None => true,
            })
            .count();
        black_box(due);
    });
    println!("{:<34} {:>12} {:>14}", "case", "median", "of Free 10 ms");
    println!(
        "{:<34} {:>9.3} ms {:>13.1}%",
        format!("idle tick, {INSTANCES} instances"),
        idle / 1e6,
        idle / FREE_CPU_NS * 100.0
    );
    for rows in [1_000usize, 10_000, 100_000] {
        let per = rows / INSTANCES;
        let configs: Vec<String> = (0..INSTANCES).map(|i| config_json(i, per)).collect();
        let states: Vec<String> = configs
            .iter()
            .map(|c| {
                let config = parse_stored_config(c).unwrap();
                let mut st = InstanceState::default();
                st.on_config_saved(&config, saved);
                serde_json::to_string(&st).unwrap()
            })
            .collect();
        let one = median_ns(51, || {
            let config = parse_stored_config(black_box(&configs[0])).unwrap();
            let state: InstanceState = serde_json::from_str(black_box(&states[0])).unwrap();
            let plan = plan_tick("i0", &config, &state, now);
            black_box(serde_json::to_string(&plan.state).unwrap());
        });
        let all = median_ns(3, || {
            for (i, (c, s)) in configs.iter().zip(&states).enumerate() {
                let config = parse_stored_config(c).unwrap();
                let state: InstanceState = serde_json::from_str(s).unwrap();
                let plan = plan_tick(&i.to_string(), &config, &state, now);
                black_box(serde_json::to_string(&plan.state).unwrap());
            }
        });
        println!(
            "{:<34} {:>9.3} ms {:>13.1}%",
            format!("one due instance, {per} rows"),
            one / 1e6,
            one / FREE_CPU_NS * 100.0
        );
        println!(
            "{:<34} {:>9.3} ms {:>13.1}%",
            format!("replan all, {rows} rows"),
            all / 1e6,
            all / FREE_CPU_NS * 100.0
        );
        figures.push(
            serde_json::json!({"layout": "1000 instances", "rows": rows, "rows_per_instance": per,
            "idle_ms": idle / 1e6, "one_due_ms": one / 1e6, "replan_all_ms": all / 1e6}),
        );
    }

    // The workerd bench's layout: 500 rows per instance.
    const PER: usize = 500;
    let config = config_json(0, PER);
    let state = {
        let c = parse_stored_config(&config).unwrap();
        let mut st = InstanceState::default();
        st.on_config_saved(&c, saved);
        serde_json::to_string(&st).unwrap()
    };
    let one = median_ns(51, || {
        let c = parse_stored_config(black_box(&config)).unwrap();
        let st: InstanceState = serde_json::from_str(black_box(&state)).unwrap();
        let plan = plan_tick("i0", &c, &st, now);
        black_box(serde_json::to_string(&plan.state).unwrap());
    });
    for instances in [2usize, 20, 200] {
        let index = index_json(instances, PER);
        let ticker: BTreeMap<String, (u64, Option<Instant>)> = (0..instances)
            .map(|i| {
                (
                    format!("{:032x}", i * 7919),
                    (3, Some(now.add_seconds(3600))),
                )
            })
            .collect();
        let idle = median_ns(201, || {
            let index: Index = serde_json::from_str(black_box(&index)).unwrap();
            black_box(
                index
                    .instances
                    .iter()
                    .filter(|e| {
                        ticker
                            .get(&e.id)
                            .is_none_or(|(r, n)| *r != e.revision || n.is_some_and(|d| d <= now))
                    })
                    .count(),
            );
        });
        let rows = instances * PER;
        println!(
            "{:<34} {:>9.3} ms {:>13.1}%",
            format!("idle tick, {instances} x {PER} rows"),
            idle / 1e6,
            idle / FREE_CPU_NS * 100.0
        );
        println!(
            "{:<34} {:>9.3} ms {:>13.1}%",
            format!("replan all, {instances} x {PER} rows"),
            one * instances as f64 / 1e6,
            one * instances as f64 / FREE_CPU_NS * 100.0
        );
        figures.push(
            serde_json::json!({"layout": format!("{instances} x {PER}"), "rows": rows,
            "rows_per_instance": PER, "idle_ms": idle / 1e6, "one_due_ms": one / 1e6,
            "replan_all_ms": one * instances as f64 / 1e6}),
        );
    }
    println!(
        "{:<34} {:>9.3} ms {:>13.1}%",
        format!("one due instance, {PER} rows"),
        one / 1e6,
        one / FREE_CPU_NS * 100.0
    );
    if let Ok(path) = std::env::var("BENCH_JSON") {
        std::fs::write(&path, serde_json::to_string_pretty(&figures).unwrap()).unwrap();
    }
}
