//! The tick compiled to wasm32 in workerd, timed from outside: the wall time of the scheduled
//! handler (`/cdn-cgi/handler/scheduled?time=...` until its answer) at 1k, 10k and 100k
//! scheduled rows (2, 20 and 200 instances of 500 rows, made through `POST /api/instances`),
//! with each tick's KV operations and ClearML subrequests from its summary line.
//!
//! Ticks are classed by their summary line: *idle* (nothing due: `planned=0`), *launch* (one
//! instance due, one clone made and enqueued against the ClearML stand-in) and *poll* (an
//! instance with an open run reads its status). Instance 0 has one `*/3 * * * *` task, so every
//! third minute launches (then the run is left 0.9 s of real time to finish, untimed, so the
//! next minute polls once); the other rows fire from 06:00 on, outside the minutes ticked.
//! The first tick after the instances are made plans all of them (*replan*). A baseline of
//! ticks with no instance at all gives the cost of the HTTP round trip through `wrangler dev`.
//!
//! `#[ignore]`: `scripts/bench.sh` runs it and reads `target/bench/workerd_tick.json`.

use std::time::{Duration, Instant as Clock};

use scheduler_e2e::api_client::Api;
use scheduler_e2e::harness::{repo_root, WorkerOptions, WorkerProcess};
use scheduler_e2e::standin::{self, demo, StandinConfig};
use serde_json::{json, Value};

const TOKEN: &str = "bench-admin-token-0123456789abcdef0123";
const MINUTE: i64 = 60_000;
const ROWS_PER_INSTANCE: usize = 500;

fn config(i: usize) -> Value {
    let tasks: Vec<Value> = (0..ROWS_PER_INSTANCE)
        .map(|t| {
            let time = format!("{:02}:{:02}", 6 + t % 18, (t * 7) % 60);
            let mut v = json!({"id": format!("t{t}"), "base_task_id": demo::TASK_TRAIN,
                "destination_project": format!("Scheduled/proj{i}"), "queue": "default"});
            let o = v.as_object_mut().unwrap();
            if i == 0 && t == 0 {
                o.insert("recurrence".into(), json!("cron"));
                o.insert("cron".into(), json!("*/3 * * * *"));
                return v;
            }
            match t % 3 {
                0 => {
                    o.insert("recurrence".into(), json!("daily"));
                }
                1 => {
                    o.insert("recurrence".into(), json!("weekly"));
                    o.insert("weekdays".into(), json!(["monday", "friday"]));
                }
                _ => {
                    o.insert("recurrence".into(), json!("monthly"));
                    o.insert("days".into(), json!([15]));
                }
            }
            o.insert("times".into(), json!([time]));
            v
        })
        .collect();
    json!({"format": "clearml-task-scheduler/v1", "name": format!("bench {i}"), "scheduled_tasks": tasks})
}

fn field(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn stats(v: &mut [f64]) -> Value {
    if v.is_empty() {
        return json!({"n": 0});
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    json!({"n": v.len(), "median": p(0.5), "p10": p(0.1), "p90": p(0.9), "min": v[0], "max": v[v.len() - 1]})
}

/// Triggers `n` ticks from `*t`, one minute apart; returns (wall ms, summary line) per tick.
async fn ticks(worker: &WorkerProcess, t: &mut i64, n: usize) -> Vec<(f64, String)> {
    let seen = worker.tick_lines().len();
    let mut walls = Vec::new();
    for _ in 0..n {
        let c = Clock::now();
        worker.trigger_scheduled(Some(*t)).unwrap();
        walls.push(c.elapsed().as_secs_f64() * 1000.0);
        if (*t / MINUTE) % 3 == 0 {
            // Instance 0's `*/3` slot launched: let the stand-in's agent finish the run (real
            // time, outside the timed call) so one poll closes it and the next minute is idle.
            tokio::time::sleep(Duration::from_millis(900)).await;
        }
        *t += MINUTE;
    }
    // The console lines reach wrangler's log a moment later.
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = worker.tick_lines();
        if lines.len() >= seen + n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(lines.len() >= seen + n, "one summary line per tick");
    walls
        .into_iter()
        .zip(lines[seen..seen + n].iter().cloned())
        .collect()
}

fn class(line: &str) -> &'static str {
    if field(line, "launched") > 0 {
        "launch"
    } else if field(line, "ticked") == 0 && field(line, "subrequests") == 0 {
        "idle"
    } else {
        "poll"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: scripts/bench.sh runs it"]
async fn tick_wall_time_in_workerd_at_1k_10k_100k_rows() {
    let per_size: usize = std::env::var("TICK_BENCH_TICKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let clearml = standin::spawn(StandinConfig {
        agent_seconds: 0.3,
        ..Default::default()
    })
    .await
    .unwrap();
    let worker = WorkerProcess::start(
        WorkerOptions::admin(TOKEN)
            .clearml(&clearml)
            // Unbounded, so the first tick after the import plans every instance and the
            // figures show what the default budget (1,000 rows a tick) protects against.
            .var("TICK_ROW_BUDGET", "100000000"),
    )
    .unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Simulated time: from tomorrow 00:00 UTC (the rows fire from 06:00).
    let mut t = (now / 86_400_000 + 1) * 86_400_000;

    // Warm up the isolate, then the baseline: no instance at all.
    ticks(&worker, &mut t, 3).await;
    let mut base: Vec<f64> = ticks(&worker, &mut t, per_size)
        .await
        .into_iter()
        .map(|(w, _)| w)
        .collect();
    let baseline = stats(&mut base);
    println!("baseline (no instance): {baseline}");

    let mut sizes = Vec::new();
    let mut made = 0usize;
    for instances in [2usize, 20, 200] {
        let c = Clock::now();
        while made < instances {
            let answer = api.post("/api/instances", &config(made)).await.unwrap();
            assert_eq!(
                answer["task_count"].as_u64(),
                Some(ROWS_PER_INSTANCE as u64)
            );
            made += 1;
        }
        let create_s = c.elapsed().as_secs_f64();
        let replan = ticks(&worker, &mut t, 1).await;
        let got = ticks(&worker, &mut t, per_size).await;
        let mut by: std::collections::BTreeMap<&str, Vec<(f64, String)>> = Default::default();
        for (w, l) in got {
            by.entry(class(&l)).or_default().push((w, l));
        }
        let mut classes = serde_json::Map::new();
        for (name, v) in &by {
            let mut walls: Vec<f64> = v.iter().map(|(w, _)| *w).collect();
            let med = |f: &str| {
                let mut x: Vec<u64> = v.iter().map(|(_, l)| field(l, f)).collect();
                x.sort();
                x[x.len() / 2]
            };
            classes.insert(
                name.to_string(),
                json!({"wall_ms": stats(&mut walls), "kv_reads": med("kv_reads"), "kv_writes": med("kv_writes"),
                       "kv_lists": med("kv_lists"), "subrequests": med("subrequests"), "example": v[0].1}),
            );
        }
        let r = &replan[0];
        let entry = json!({
            "rows": instances * ROWS_PER_INSTANCE, "instances": instances, "create_seconds": create_s,
            "replan": {"wall_ms": r.0, "kv_reads": field(&r.1, "kv_reads"), "kv_writes": field(&r.1, "kv_writes"),
                       "planned": field(&r.1, "ticked"), "line": r.1},
            "classes": classes,
        });
        println!("{}", serde_json::to_string_pretty(&entry).unwrap());
        sizes.push(entry);
    }
    let out = json!({"baseline": baseline, "sizes": sizes, "ticks_per_size": per_size,
                     "clones": clearml.records().clones.len()});
    let dir = repo_root().join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("workerd_tick.json"),
        serde_json::to_string_pretty(&out).unwrap(),
    )
    .unwrap();
}
