//! The pile-up benchmark: 100 and 1,000 slots due in the same minute, the ClearML stand-in
//! answering every call after 50 ms, the worker on Cloudflare Free's per-invocation limits (50
//! ClearML calls, 40 instance ticks per cron invocation, the rest through the queue, six launches
//! at once per object). Slots are spread over instances of 10 tasks each (10 and 100 instances).
//!
//! Measured from the stand-in's records: seconds from the due minute's event to the last
//! enqueue, ClearML calls per launch, duplicates (slots cloned or enqueued more than once) and
//! clones left un-enqueued; invocations from the worker's log (cron ticks, queued batches,
//! object alarms). The peer, ClearML SDK's own launch path (`ClearmlJob` + `launch`, what
//! `TaskScheduler` runs for each due job, one after another), is measured by
//! `tests/bench/sdk_pileup.py` against the same stand-in with the same latency.
//!
//! `#[ignore]`: `scripts/bench.sh` runs it and reads `target/bench/pileup.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant as Clock};

use scheduler_e2e::api_client::Api;
use scheduler_e2e::harness::{repo_root, WorkerOptions, WorkerProcess};
use scheduler_e2e::standin::{self, demo, FaultConfig, FaultKind, StandinConfig};
use serde_json::{json, Value};

const TOKEN: &str = "pileup-bench-admin-token-0123456789abcdef";
const MINUTE: i64 = 60_000;
const LATENCY_MS: u64 = 50;
const TASKS_PER_INSTANCE: usize = 10;

use scheduler_e2e::harness::next_0620_ms as slot_0620;

fn instance(n: usize) -> Value {
    let tasks: Vec<Value> = (0..TASKS_PER_INSTANCE)
        .map(|i| {
            json!({"id": format!("job-{i}"), "base_task_id": demo::TASK_TRAIN, "queue": "default",
                   "recurrence": "daily", "times": ["06:20"]})
        })
        .collect();
    json!({"format": "clearml-task-scheduler/v1", "name": format!("Pile-up {n}"), "scheduled_tasks": tasks})
}

async fn pile_up(slots: usize) -> Value {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN).clearml(&clearml)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    for n in 0..slots / TASKS_PER_INSTANCE {
        api.post("/api/instances", &instance(n)).await.unwrap();
    }
    let slot = slot_0620();
    // The configurations are taken in a minute before (and the queue ticks the rest).
    worker.trigger_scheduled(Some(slot - MINUTE)).unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    clearml.reset();
    clearml.set_faults(FaultConfig {
        fail_rate: 1.0,
        kinds: vec![FaultKind::Delay],
        delay_ms: LATENCY_MS,
        ..Default::default()
    });
    let log_before = worker.log_text().len();
    let t0 = Clock::now();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let deadline = t0 + Duration::from_secs(300);
    while clearml.records().enqueues.len() < slots && Clock::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done = t0.elapsed();
    // Anything still arriving (a duplicate would) is counted too.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let records = clearml.records();
    let mut per_slot: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &records.clones {
        if let Some(tag) = c.system_tags.iter().find(|t| t.starts_with("sched-v1:")) {
            *per_slot.entry(tag.as_str()).or_default() += 1;
        }
    }
    let enqueued: BTreeSet<&str> = records.enqueues.iter().map(|e| e.task.as_str()).collect();
    let deleted: BTreeSet<&str> = records.deletes.iter().map(|d| d.task.as_str()).collect();
    let orphans = records
        .clones
        .iter()
        .filter(|c| !enqueued.contains(c.id.as_str()) && !deleted.contains(c.id.as_str()))
        .count();
    let log = &worker.log_text()[log_before..];
    let count = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    let launches = enqueued.len();
    let result = json!({
        "slots": slots,
        "instances": slots / TASKS_PER_INSTANCE,
        "latency_ms": LATENCY_MS,
        "enqueued": launches,
        "seconds_to_last_enqueue": done.as_secs_f64(),
        "all_enqueued": launches == slots,
        "calls": records.calls.len(),
        "calls_per_launch": records.calls.len() as f64 / launches.max(1) as f64,
        "logins": records.count("auth.login"),
        "duplicate_clones": per_slot.values().filter(|n| **n > 1).count(),
        "duplicate_enqueues": records.enqueues.len() - launches,
        "orphans": orphans,
        "invocations": {
            "cron": count("kv_reads="),
            "queued_batches": count("queued tick"),
            "alarms": count("alarm: launched="),
        },
    });
    println!("pile-up {slots}: {result}");
    result
}

/// The SDK's launch path for `jobs` due jobs, against a stand-in with the same latency.
async fn sdk_peer(jobs: usize) -> Value {
    let python = repo_root().join("target/sdk-venv/bin/python");
    if !python.exists() {
        return json!({"error": "no target/sdk-venv (scripts/bench.sh makes it)"});
    }
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    clearml.set_faults(FaultConfig {
        fail_rate: 1.0,
        kinds: vec![FaultKind::Delay],
        delay_ms: LATENCY_MS,
        ..Default::default()
    });
    let home = repo_root().join("target/sdk-home");
    std::fs::create_dir_all(&home).unwrap();
    let empty_conf = home.join("clearml-empty.conf");
    std::fs::write(&empty_conf, "").unwrap();
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg(repo_root().join("tests/bench/sdk_pileup.py"))
        .arg(jobs.to_string());
    for (k, _) in std::env::vars() {
        if k.starts_with("CLEARML_") || k.starts_with("TRAINS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", &home)
        .env("CLEARML_CONFIG_FILE", &empty_conf)
        .env("CLEARML_API_HOST", clearml.url())
        .env("CLEARML_WEB_HOST", clearml.url())
        .env("CLEARML_FILES_HOST", clearml.url())
        .env("CLEARML_API_ACCESS_KEY", clearml.access_key())
        .env("CLEARML_API_SECRET_KEY", clearml.secret_key())
        .env("CLEARML_LOG_LEVEL", "WARNING")
        .env("STANDIN_BASE_TASK", demo::TASK_TRAIN)
        .env("STANDIN_QUEUE", "default");
    let out = match tokio::time::timeout(Duration::from_secs(600), cmd.output()).await {
        Ok(Ok(out)) => out,
        other => return json!({"error": format!("the SDK run failed: {other:?}")}),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut result: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| json!({"error": String::from_utf8_lossy(&out.stderr).to_string()}));
    let records = clearml.records();
    result["calls"] = json!(records.calls.len());
    result["calls_per_launch"] = json!(records.calls.len() as f64 / jobs as f64);
    result["latency_ms"] = json!(LATENCY_MS);
    println!("SDK peer {jobs}: {result}");
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn pile_up_of_100_and_1000_slots_in_one_minute() {
    let mut results = vec![];
    for slots in [100, 1000] {
        results.push(pile_up(slots).await);
    }
    // The SDK launches one job after another: 100 are measured, 1,000 would take ten times as long.
    let sdk = sdk_peer(100).await;
    let out = repo_root().join("target/bench/pileup.json");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&json!({"ours": results, "sdk": sdk})).unwrap(),
    )
    .unwrap();
    for r in &results {
        assert_eq!(r["duplicate_clones"], 0, "{r}");
        assert_eq!(r["duplicate_enqueues"], 0, "{r}");
        assert_eq!(r["orphans"], 0, "{r}");
        assert_eq!(r["all_enqueued"], true, "{r}");
    }
}
