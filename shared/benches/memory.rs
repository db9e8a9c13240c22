//! Memory, natively, as a proxy for the worker's wasm heap: a counting global allocator measures
//! the heap bytes of the parsed configuration + planner state for 100,000 scheduled rows
//! (200 instances of 500 rows, the per-instance limit), and the peak heap of one tick that loads,
//! plans and stores one 500-row instance (what the worker holds at once: it handles instances
//! one at a time). The rows are the same daily / weekly / monthly mix that
//! `tests/bench/clearml_sdk.py` loads into ClearML SDK's scheduler for the comparison.
//!
//! Native pointers are 8 bytes and wasm32's are 4, so the wasm heap is somewhat smaller than this.
//!
//! Prints the figures; with `BENCH_JSON=<file>` also writes them as JSON.
//!
//! Run: `cargo bench -p scheduler-core --bench memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use scheduler_core::{parse_stored_config, plan_tick, InstanceState, Instant};
use serde_json::json;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const INSTANCES: usize = 200;
const ROWS_PER_INSTANCE: usize = 500;

/// Row `t`: daily, weekly (two weekdays) or monthly (the 15th), one time of day each.
fn config_json(instance: usize, tasks: usize) -> String {
    let items: Vec<String> = (0..tasks)
        .map(|t| {
            let (rec, extra) = match t % 3 {
                0 => ("daily", ""),
                1 => ("weekly", r#", "weekdays": ["monday", "friday"]"#),
                _ => ("monthly", r#", "days": [15]"#),
            };
            format!(
                r#"{{"id": "t{t}", "base_task_id": "{:032x}", "destination_project": "Scheduled/proj{instance}", "queue": "default", "recurrence": "{rec}", "times": ["{:02}:{:02}"]{extra}}}"#,
                instance * 100_000 + t,
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

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn main() {
    let saved = Instant::from_utc(2026, 11, 25, 10, 0).unwrap();
    let now = Instant::from_utc(2026, 11, 26, 6, 20).unwrap();
    // The stored JSON (what KV holds), made before measuring.
    let configs: Vec<String> = (0..INSTANCES)
        .map(|i| config_json(i, ROWS_PER_INSTANCE))
        .collect();
    let states: Vec<String> = configs
        .iter()
        .map(|c| {
            let config = parse_stored_config(c).unwrap();
            let mut st = InstanceState::default();
            st.on_config_saved(&config, saved);
            serde_json::to_string(&st).unwrap()
        })
        .collect();
    let json_bytes: usize = configs.iter().map(String::len).sum::<usize>()
        + states.iter().map(String::len).sum::<usize>();

    // All 100k rows parsed and held at once.
    let before = live();
    let held: Vec<_> = configs
        .iter()
        .zip(&states)
        .map(|(c, s)| {
            let config = parse_stored_config(c).unwrap();
            let state: InstanceState = serde_json::from_str(s).unwrap();
            (config, state)
        })
        .collect();
    let all_rows = live() - before;
    let rows: usize = held.iter().map(|(c, _)| c.scheduled_tasks().len()).sum();
    assert_eq!(rows, INSTANCES * ROWS_PER_INSTANCE);
    drop(held);

    // One tick of one 500-row instance: load, plan, store. Peak above what was live before.
    let before = live();
    PEAK.store(before, Ordering::Relaxed);
    {
        let config = parse_stored_config(&configs[0]).unwrap();
        let state: InstanceState = serde_json::from_str(&states[0]).unwrap();
        let plan = plan_tick("i0", &config, &state, now);
        std::hint::black_box(serde_json::to_string(&plan.state).unwrap());
    }
    let tick_peak = PEAK.load(Ordering::Relaxed) - before;

    // A replan of all 200 instances in one tick, one at a time (what a tick after a mass import
    // does): the peak is that of the largest instance, not the sum.
    let before = live();
    PEAK.store(before, Ordering::Relaxed);
    for (i, (c, s)) in configs.iter().zip(&states).enumerate() {
        let config = parse_stored_config(c).unwrap();
        let state: InstanceState = serde_json::from_str(s).unwrap();
        let plan = plan_tick(&i.to_string(), &config, &state, now);
        std::hint::black_box(serde_json::to_string(&plan.state).unwrap());
    }
    let replan_peak = PEAK.load(Ordering::Relaxed) - before;

    let mib = |b: usize| b as f64 / 1_048_576.0;
    println!("rows: {rows} ({INSTANCES} instances x {ROWS_PER_INSTANCE})");
    println!(
        "stored JSON (config + state), all rows: {:.1} MiB",
        mib(json_bytes)
    );
    println!(
        "heap, all rows parsed and held at once:  {:.1} MiB ({:.0} bytes/row)",
        mib(all_rows),
        all_rows as f64 / rows as f64
    );
    println!(
        "heap peak, one tick of one 500-row instance: {:.2} MiB",
        mib(tick_peak)
    );
    println!(
        "heap peak, a tick replanning all {INSTANCES} instances: {:.2} MiB",
        mib(replan_peak)
    );
    if let Ok(path) = std::env::var("BENCH_JSON") {
        let out = json!({
            "rows": rows, "instances": INSTANCES, "rows_per_instance": ROWS_PER_INSTANCE,
            "stored_json_bytes": json_bytes, "all_rows_heap_bytes": all_rows,
            "one_instance_tick_peak_bytes": tick_peak, "replan_all_peak_bytes": replan_peak,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
        println!("wrote {path}");
    }
}
