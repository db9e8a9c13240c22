//! The soak: one simulated day of minute ticks (1,440 scheduled events, each with its chosen
//! scheduled time) of the worker in workerd, 50 instances and 300 scheduled tasks, against the
//! ClearML stand-in injecting 20% faults (5xx, 200 ms delays, answers lost after the clone, cut
//! connections, expired tokens); some events are delivered twice, some three times at the same
//! moment, some while the next minute's tick already runs, some skipped, and the worker is killed
//! mid-day and restarted on the same storage (the minutes it is down deliver no event).
//!
//! The expected slots are computed independently of the worker: each task's `Schedule` from its
//! own JSON, `next_fire_after` from the instance's save time up to the last tick. Counted from the
//! stand-in's own records: clones per due slot (exactly 1, or a miss the log reports under the
//! catch-up policy), enqueues per clone, runs on the dashboard, lines in the log.
//!
//! `#[ignore]`: it runs for minutes; `scripts/reliability.sh` runs it
//! (`cargo test -p scheduler-e2e --test soak -- --ignored --nocapture`) and reads the JSON it
//! writes to `target/reliability/soak.json`. `SOAK_MINUTES` shortens the day for a quick try.

// The report's json! literal is large.
#![recursion_limit = "256"]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant as Clock};

use scheduler_core::{parse_stored_config, Instant};
use scheduler_e2e::api_client::Api;
use scheduler_e2e::harness::{repo_root, TempDir, WorkerOptions, WorkerProcess};
use scheduler_e2e::receiver::Receiver;
use scheduler_e2e::standin::{self, demo, FaultConfig, FaultKind, StandinConfig, StandinHandle};
use serde_json::{json, Value};

const TOKEN: &str = "soak-test-admin-token-0123456789abcdef";
const SIGNING_SECRET: &str = "soak-signing-secret-0123456789abcdef";
const MINUTE: i64 = 60_000;
const INSTANCES: usize = 50;
const TASKS_PER_INSTANCE: usize = 6;
/// Minutes at the end with faults off, so the slots failed last are retried (and counted).
const RECOVERY_MINUTES: i64 = 10;
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn worker_for(clearml: &StandinHandle, persist_to: std::path::PathBuf) -> WorkerProcess {
    WorkerProcess::start(WorkerOptions {
        persist_to: Some(persist_to),
        vars: vec![
            ("ADMIN_TOKEN".into(), TOKEN.into()),
            ("CLEARML_API_HOST".into(), clearml.url()),
            ("CLEARML_API_ACCESS_KEY".into(), clearml.access_key().into()),
            ("CLEARML_API_SECRET_KEY".into(), clearml.secret_key().into()),
            (
                "CLEARML_WEB_HOST".into(),
                "http://clearml-web.invalid".into(),
            ),
            // The day runs in minutes of real time: a killed worker's launch claims are taken
            // over after 6 s (production: 200 s), and a call may take 1 s (20 s).
            ("LAUNCH_LEASE_SECONDS".into(), "6".into()),
            ("CLEARML_TIMEOUT_SECONDS".into(), "1".into()),
        ],
    })
    .unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Weekday index (0 = Monday) and day of month of an epoch-milliseconds instant, UTC.
fn weekday_and_day(ms: i64) -> (usize, u32) {
    let days = ms.div_euclid(86_400_000);
    let weekday = (days + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
    let (_, _, d, _, _, _) = Instant::from_unix_millis(ms).to_utc();
    (weekday, d)
}

/// `2026-11-25T14:55:31Z` (what the API writes) to an Instant.
fn parse_iso(s: &str) -> Instant {
    let n = |a: usize, b: usize| s[a..b].parse::<u32>().unwrap();
    Instant::from_utc(n(0, 4) as i32, n(5, 7), n(8, 10), n(11, 13), n(14, 16))
        .unwrap()
        .add_seconds(i64::from(n(17, 19)))
}

/// Instances whose `task-4` names a queue ClearML lacks.
fn is_broken(i: usize) -> bool {
    i % 10 == 9
}

/// Task `k` of instance `i`: a realistic mix whose slots spread over the day.
fn task(i: usize, k: usize, start_ms: i64) -> Value {
    let g = i * TASKS_PER_INSTANCE + k;
    let hh = |x: usize| (x * 7 + i) % 24;
    let mm = (g * 13) % 60;
    let t = |h: usize, m: usize| format!("{h:02}:{m:02}");
    let (wd, dom) = weekday_and_day(start_ms);
    let (_, dom_next) = weekday_and_day(start_ms + 86_400_000);
    let mut v = json!({
        "id": format!("task-{k}"),
        "name": format!("job {i}.{k}"),
        "base_task_id": if k.is_multiple_of(2) { demo::TASK_TRAIN } else { demo::TASK_EVALUATE },
        "destination_project": format!("Scheduled/soak-{}", i % 5),
        "queue": "default",
    });
    let o = v.as_object_mut().unwrap();
    match k {
        0 if i == 3 => {
            // Every minute of the soak's first three hours, under `skip`: the slot of a skipped
            // minute (the 50th is one) is missed, and told; a launch that fails is retried for
            // a few minutes only, then given up, and its clean-up must leave no clone behind.
            let (_, _, _, h0, _, _) = Instant::from_unix_millis(start_ms).to_utc();
            let hours: Vec<String> = (0..3).map(|h| ((h0 + h) % 24).to_string()).collect();
            o.insert("recurrence".into(), json!("cron"));
            o.insert("cron".into(), json!(format!("* {} * * *", hours.join(","))));
            o.insert("catch_up".into(), json!("skip"));
        }
        0 | 1 => {
            o.insert("recurrence".into(), json!("daily"));
            o.insert(
                "times".into(),
                json!([t(hh(k), mm), t((hh(k) + 12) % 24, mm)]),
            );
        }
        2 => {
            o.insert("recurrence".into(), json!("weekly"));
            o.insert(
                "weekdays".into(),
                json!([WEEKDAYS[wd], WEEKDAYS[(wd + 1) % 7]]),
            );
            o.insert("times".into(), json!([t(hh(k), mm)]));
            o.insert("task_parameters".into(), json!({"Args/batch": "12"}));
        }
        3 => {
            o.insert("recurrence".into(), json!("monthly"));
            o.insert("days".into(), json!([dom, dom_next]));
            o.insert("times".into(), json!([t(hh(k), mm)]));
            o.insert("single_instance".into(), json!(true));
        }
        4 => {
            o.insert("recurrence".into(), json!("cron"));
            o.insert("cron".into(), json!(format!("{mm} */3 * * *")));
            if is_broken(i) {
                // A queue ClearML does not have: every slot fails for good, and is told.
                o.insert("queue".into(), json!("no-such-queue"));
            }
        }
        _ => {
            o.insert("recurrence".into(), json!("daily"));
            o.insert(
                "times".into(),
                json!([
                    t(hh(1), mm),
                    t((hh(1) + 8) % 24, mm),
                    t((hh(1) + 16) % 24, mm)
                ]),
            );
            o.insert(
                "timezone".into(),
                json!(if i.is_multiple_of(2) {
                    "Europe/Berlin"
                } else {
                    "America/New_York"
                }),
            );
            o.insert(
                "catch_up".into(),
                json!({"policy": "all", "window_minutes": 120}),
            );
        }
    }
    v
}

/// Prints what the instance's log and the receiver said of one slot (for a failed check).
async fn show_what_was_said(api: &Api, told: &[Value], slot: &(String, String, i64), what: &str) {
    let (inst, item, minute) = slot;
    let at = Instant::from_unix_seconds(minute * 60).to_string();
    let dash = api
        .get(&format!(
            "/api/instances/{inst}/dashboard?log_page_size=500"
        ))
        .await
        .unwrap();
    for l in dash["log"]["items"].as_array().into_iter().flatten() {
        let msg = l["message"].as_str().unwrap_or_default();
        if msg.contains(&at) {
            println!("soak: {what}: {item} {at}: {} {msg}", l["at"]);
        }
    }
    for b in told
        .iter()
        .filter(|b| b["instance"]["id"] == inst.as_str() && b["task"]["item"] == item.as_str())
    {
        println!(
            "soak: told of {item}: {} slot {} at {} count {}",
            b["event"], b["slot"], b["at"], b["count"]
        );
    }
}

/// A tick summary line's `name=N` field.
fn field(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Counts {
    clones: usize,
    slots_cloned: usize,
    duplicate_slots: usize,
    enqueues: usize,
    enqueue_duplicates: usize,
}

fn count(clearml: &StandinHandle) -> (Counts, BTreeMap<(String, String, i64), usize>) {
    let records = clearml.records();
    // A clone a clean-up deleted (made, never enqueued, its slot given up) is not a launch.
    let deleted: BTreeSet<&str> = records.deletes.iter().map(|d| d.task.as_str()).collect();
    let live = records
        .clones
        .iter()
        .filter(|c| !deleted.contains(c.id.as_str()));
    let mut per_slot: BTreeMap<(String, String, i64), usize> = BTreeMap::new();
    for c in live.clone() {
        let inst = c
            .system_tags
            .iter()
            .find_map(|t| t.strip_prefix("sched-instance:"))
            .expect("instance tag")
            .to_string();
        let item = c
            .tags
            .iter()
            .find_map(|t| t.strip_prefix("scheduler:"))
            .expect("item tag")
            .to_string();
        let minute: i64 = c
            .system_tags
            .iter()
            .find_map(|t| t.strip_prefix("sched-v1:"))
            .and_then(|t| t.rsplit(':').next())
            .and_then(|m| m.parse().ok())
            .expect("slot tag");
        *per_slot.entry((inst, item, minute)).or_default() += 1;
    }
    let mut enq: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &records.enqueues {
        *enq.entry(e.task.as_str()).or_default() += 1;
    }
    (
        Counts {
            clones: live.count(),
            slots_cloned: per_slot.len(),
            duplicate_slots: per_slot.values().filter(|n| **n > 1).count(),
            enqueues: records.enqueues.len(),
            enqueue_duplicates: enq.values().filter(|n| **n > 1).count(),
        },
        per_slot,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long: scripts/reliability.sh runs it"]
async fn one_day_under_faults_duplicates_skips_and_a_restart_launches_every_slot_once() {
    let minutes: i64 = std::env::var("SOAK_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1440);
    let wall = Clock::now();
    let clearml = standin::spawn(StandinConfig {
        agent_seconds: 0.5,
        ..Default::default()
    })
    .await
    .unwrap();
    let state = TempDir::new("kv-soak").unwrap();
    let mut worker = worker_for(&clearml, state.path.clone());
    let mut api = Api::new(&worker.url, TOKEN);
    // Every instance tells a signed webhook on loopback; the receiver checks each signature and
    // records what arrived, to be counted against the slots.
    let receiver = Receiver::start().await.unwrap();

    // The day starts at the next whole minute after the last save (saves use the real clock).
    let approx_start = (now_ms() / MINUTE + 2) * MINUTE;
    let mut instances: Vec<(String, Value, Instant)> = Vec::new();
    for i in 0..INSTANCES {
        let hook = format!("/hook/{i}");
        receiver.verify_with(&hook, SIGNING_SECRET);
        let config = json!({
            "format": "clearml-task-scheduler/v1",
            "name": format!("Soak {i}"),
            "scheduled_tasks": (0..TASKS_PER_INSTANCE).map(|k| task(i, k, approx_start)).collect::<Vec<_>>(),
            // No grouping, no hourly limit: each event is its own message, to be counted.
            "notifications": {"channels": [{"id": "ops", "type": "webhook", "url": receiver.url(&hook),
                "signing_secret": SIGNING_SECRET}], "group_window_minutes": 0, "max_per_hour": 1000},
        });
        let made = api.post("/api/instances", &config).await.unwrap();
        let id = made["id"].as_str().unwrap().to_string();
        let saved = parse_iso(made["saved_at"].as_str().unwrap());
        instances.push((id, config, saved));
    }
    let start = (now_ms() / MINUTE + 1) * MINUTE;
    let last_faulty = start + (minutes - 1) * MINUTE;
    let end = last_faulty + RECOVERY_MINUTES * MINUTE;

    // Expected slots, independently: each task's schedule from its own JSON. The broken
    // tasks' slots are expected to fail (and to be told).
    let mut expected: BTreeSet<(String, String, i64)> = BTreeSet::new();
    let mut expected_failing: BTreeSet<(String, String, i64)> = BTreeSet::new();
    for (i, (id, config, saved)) in instances.iter().enumerate() {
        let parsed = parse_stored_config(&config.to_string()).unwrap();
        for t in parsed.scheduled_tasks() {
            let mut at = *saved;
            while let Some(next) = t.schedule().next_fire_after(at) {
                if next.unix_millis() > end {
                    break;
                }
                let slot = (id.clone(), t.id().to_string(), next.unix_minutes());
                if is_broken(i) && t.id() == "task-4" {
                    expected_failing.insert(slot);
                } else {
                    expected.insert(slot);
                }
                at = next;
            }
        }
    }
    let tasks = INSTANCES * TASKS_PER_INSTANCE;
    println!(
        "soak: {INSTANCES} instances, {tasks} tasks, {minutes} minutes + {RECOVERY_MINUTES} recovery, {} expected slots",
        expected.len()
    );

    clearml.set_faults(FaultConfig {
        fail_rate: 0.2,
        seed: Some(20261125),
        kinds: vec![
            FaultKind::Http500,
            FaultKind::Delay,
            FaultKind::DropAfterClone,
            FaultKind::DropConnection,
            FaultKind::ExpireTokens,
        ],
        delay_ms: 200,
        ..Default::default()
    });

    // The kill lands mid-tick, in the busiest minute of the middle of the day (most due slots),
    // so launches are cut off half done.
    let restart_at = {
        let mid = (minutes / 3)..(2 * minutes / 3).max(minutes / 3 + 1);
        let mut per_minute: BTreeMap<i64, usize> = BTreeMap::new();
        for (_, _, m) in &expected {
            *per_minute.entry(m - start / MINUTE).or_default() += 1;
        }
        mid.clone()
            .max_by_key(|m| (per_minute.get(m).copied().unwrap_or(0), -m))
            .unwrap_or(minutes / 2)
    };
    let down_minutes = 3;
    let mut delivered = 0u64;
    let mut doubled = 0u64;
    let mut skipped = 0u64;
    let mut concurrent = 0u64;
    let mut overlapping = 0u64;
    let mut tick_ms: Vec<f64> = Vec::new();
    let mut tick_lines: Vec<String> = Vec::new();
    let mut before_restart = None;
    let mut restart_seconds = 0.0;
    let total = minutes + RECOVERY_MINUTES;
    for m in 0..total {
        let t = start + m * MINUTE;
        if m == minutes {
            clearml.clear_faults();
        }
        if m == restart_at {
            // Kill the worker 60 ms into this minute's tick (launches cut off half done), count,
            // restart on the same KV; the next `down_minutes` minutes deliver no event.
            let url = format!(
                "{}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time={t}",
                worker.url
            );
            let inflight = std::thread::spawn(move || scheduler_e2e::harness::blocking_get(&url));
            std::thread::sleep(Duration::from_millis(60));
            tick_lines.extend(worker.tick_lines());
            let r = Clock::now();
            worker.stop();
            // The interrupted event gets no answer (or a late one); it counts as delivered.
            let _ = inflight.join();
            delivered += 1;
            before_restart = Some(count(&clearml).0);
            worker = worker_for(&clearml, state.path.clone());
            api = Api::new(&worker.url, TOKEN);
            restart_seconds = r.elapsed().as_secs_f64();
            continue;
        }
        if (restart_at + 1..restart_at + 1 + down_minutes).contains(&m) {
            skipped += 1;
            continue;
        }
        if m % 97 == 50 {
            skipped += 1;
            continue;
        }
        if m % 53 == 11 {
            // Three events for this minute at the same moment.
            std::thread::scope(|s| {
                for _ in 0..3 {
                    s.spawn(|| worker.trigger_scheduled(Some(t)).unwrap());
                }
            });
            delivered += 3;
            concurrent += 1;
            continue;
        }
        if m % 59 == 17 && m + 1 < total {
            // This minute's tick still runs when the next minute's starts (delivered again at
            // its own minute).
            std::thread::scope(|s| {
                s.spawn(|| worker.trigger_scheduled(Some(t)).unwrap());
                std::thread::sleep(Duration::from_millis(30));
                s.spawn(|| worker.trigger_scheduled(Some(t + MINUTE)).unwrap());
            });
            delivered += 2;
            overlapping += 1;
            continue;
        }
        let reps = if m % 41 == 7 { 2 } else { 1 };
        for _ in 0..reps {
            let c = Clock::now();
            worker.trigger_scheduled(Some(t)).unwrap();
            tick_ms.push(c.elapsed().as_secs_f64() * 1000.0);
            delivered += 1;
        }
        doubled += reps - 1;
        if m % 120 == 0 {
            println!(
                "soak: minute {m}/{total}, {:.0} s, clones so far {}",
                wall.elapsed().as_secs_f64(),
                clearml.records().clones.len()
            );
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    tick_lines.extend(worker.tick_lines());
    // Deliveries run in the instances' alarms: wait until no more arrive.
    let mut seen = usize::MAX;
    for _ in 0..40 {
        let n = receiver.received().len();
        if n == seen {
            break;
        }
        seen = n;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let records = clearml.records();
    let (counts, per_slot) = count(&clearml);
    let cloned: BTreeSet<_> = per_slot.keys().cloned().collect();
    let unexpected: Vec<_> = cloned.difference(&expected).cloned().collect();
    let not_cloned: Vec<_> = expected.difference(&cloned).cloned().collect();

    // The dashboards: runs, log lines, what the log says about misses, deferrals and failures.
    let mut runs = 0u64;
    let mut run_ids: BTreeSet<String> = BTreeSet::new();
    let mut log_lines = 0u64;
    let mut missed_logged = 0u64;
    // Slots whose launch kept failing until their catch-up window closed.
    let mut given_up_logged = 0u64;
    let mut deferred = 0u64;
    let mut failed = 0u64;
    let mut skipped_single = 0u64;
    for (id, _, _) in &instances {
        let dash = api
            .get(&format!(
                "/api/instances/{id}/dashboard?log_page_size=500&runs_page_size=500"
            ))
            .await
            .unwrap();
        runs += dash["runs"]["total"].as_u64().unwrap_or(0);
        for r in dash["runs"]["items"].as_array().into_iter().flatten() {
            if let Some(t) = r["task_id"].as_str() {
                run_ids.insert(t.to_string());
            }
        }
        log_lines += dash["log"]["total"].as_u64().unwrap_or(0);
        // Every page of the log (the busiest instance writes more than one).
        let mut items: Vec<Value> = dash["log"]["items"].as_array().cloned().unwrap_or_default();
        for page in 2..=dash["log"]["pages"].as_u64().unwrap_or(1) {
            let more = api
                .get(&format!(
                    "/api/instances/{id}/dashboard?log_page_size=500&log_page={page}"
                ))
                .await
                .unwrap();
            items.extend(more["log"]["items"].as_array().cloned().unwrap_or_default());
        }
        for l in &items {
            let msg = l["message"].as_str().unwrap_or_default();
            if let Some(rest) = msg.strip_prefix("Missed ") {
                let n: String = rest
                    .trim_start_matches("more than ")
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                missed_logged += n.parse::<u64>().unwrap_or(0);
            }
            if msg.starts_with("Giving up on") || msg.starts_with("No launch outcome") {
                given_up_logged += 1;
            }
            if msg.starts_with("Deferring launch") {
                deferred += 1;
            }
            if msg.contains("failed") {
                failed += 1;
            }
            if msg.starts_with("Skipping Task") {
                skipped_single += 1;
            }
        }
    }
    // Notifications, counted at the receiver: every slot not launched is told (a slot_missed or
    // launch_failed about its task whose slot is at or before it, told at or after it), and no
    // launched slot is told as failed.
    let told: Vec<Value> = receiver.received().iter().map(|r| r.json()).collect();
    let unsigned = receiver
        .received()
        .iter()
        .filter(|r| r.signature_ok != Some(true))
        .count();
    let mut told_by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let mut told_slots: BTreeMap<(String, String), Vec<(i64, i64)>> = BTreeMap::new();
    for b in &told {
        *told_by_kind
            .entry(b["event"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
        if b["event"] == "slot_missed" || b["event"] == "launch_failed" {
            let minute = |k: &str| b[k].as_str().map(|t| parse_iso(t).unix_minutes());
            if let (Some(from), Some(at)) = (minute("slot"), minute("at")) {
                told_slots
                    .entry((
                        b["instance"]["id"].as_str().unwrap_or_default().to_string(),
                        b["task"]["item"].as_str().unwrap_or_default().to_string(),
                    ))
                    .or_default()
                    .push((from, at));
            }
        }
    }
    let untold: Vec<_> = not_cloned
        .iter()
        .chain(&expected_failing)
        .filter(|(inst, item, m)| {
            !told_slots
                .get(&(inst.clone(), item.clone()))
                .is_some_and(|spans| spans.iter().any(|(from, at)| from <= m && m <= at))
        })
        .cloned()
        .collect();
    for slot in untold.iter().take(3) {
        show_what_was_said(&api, &told, slot, "not launched and not told").await;
    }
    // Slots whose clone was enqueued: launched (a clone deleted by a clean-up is not).
    let enqueued: BTreeSet<&str> = records.enqueues.iter().map(|e| e.task.as_str()).collect();
    let launched: BTreeSet<(String, String, i64)> = records
        .clones
        .iter()
        .filter(|c| enqueued.contains(c.id.as_str()))
        .filter_map(|c| {
            let inst = c
                .system_tags
                .iter()
                .find_map(|t| t.strip_prefix("sched-instance:"))?;
            let item = c.tags.iter().find_map(|t| t.strip_prefix("scheduler:"))?;
            let minute = c
                .system_tags
                .iter()
                .find_map(|t| t.strip_prefix("sched-v1:"))
                .and_then(|t| t.rsplit(':').next())
                .and_then(|m| m.parse().ok())?;
            Some((inst.to_string(), item.to_string(), minute))
        })
        .collect();
    let false_alarms: Vec<_> = told_slots
        .iter()
        .flat_map(|((inst, item), spans)| {
            spans
                .iter()
                .filter(|(from, _)| launched.contains(&(inst.clone(), item.clone(), *from)))
                .map(move |(from, _)| (inst.clone(), item.clone(), *from))
        })
        .collect();
    for slot in false_alarms.iter().take(3) {
        show_what_was_said(&api, &told, slot, "told as failed although launched").await;
    }
    // Enqueued clones no dashboard shows as a run: which, what their instance said of their
    // slot, and whether the run shows a few seconds later (a write still on its way).
    let unshown: Vec<&standin::records::CloneRecord> = records
        .clones
        .iter()
        .filter(|c| enqueued.contains(c.id.as_str()) && !run_ids.contains(&c.id))
        .collect();
    for c in &unshown {
        let tag = |prefix: &str| {
            c.system_tags
                .iter()
                .find_map(|t| t.strip_prefix(prefix).map(str::to_string))
        };
        println!(
            "soak: enqueued but not on the dashboard: {} {:?} dropped={}",
            c.id, c.system_tags, c.response_dropped
        );
        let (Some(inst), Some(slot)) = (tag("sched-instance:"), tag("sched-v1:")) else {
            continue;
        };
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = api
            .get(&format!(
                "/api/instances/{inst}/dashboard?runs_page_size=500"
            ))
            .await
            .unwrap();
        let shown_later = later["runs"]["items"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["task_id"] == c.id.as_str());
        println!("soak: ... shown 3 s later: {shown_later}");
        if let Some(minute) = slot.rsplit(':').next().and_then(|m| m.parse().ok()) {
            let slot = (inst, String::new(), minute);
            show_what_was_said(&api, &told, &slot, "not on the dashboard").await;
        }
    }
    let orphans: Vec<String> = {
        let deleted: BTreeSet<&str> = records.deletes.iter().map(|d| d.task.as_str()).collect();
        records
            .clones
            .iter()
            .filter(|c| !enqueued.contains(c.id.as_str()) && !deleted.contains(c.id.as_str()))
            .map(|c| {
                format!(
                    "{} {:?} dropped={}",
                    c.id, c.system_tags, c.response_dropped
                )
            })
            .collect()
    };
    if !orphans.is_empty() {
        println!("soak: clones neither enqueued nor deleted: {orphans:?}");
        // What the instance said of each one's slot.
        for c in records
            .clones
            .iter()
            .filter(|c| !enqueued.contains(c.id.as_str()))
        {
            let tag = |prefix: &str| {
                c.system_tags
                    .iter()
                    .find_map(|t| t.strip_prefix(prefix).map(str::to_string))
            };
            let (Some(inst), Some(slot)) = (tag("sched-instance:"), tag("sched-v1:")) else {
                continue;
            };
            let minute = slot.rsplit(':').next().and_then(|m| m.parse().ok());
            if let Some(minute) = minute {
                let slot = (inst, c.id.clone(), minute);
                show_what_was_said(&api, &told, &slot, "orphan").await;
            }
        }
    }
    let duplicate_ids = {
        let ids: Vec<&str> = told.iter().filter_map(|b| b["id"].as_str()).collect();
        ids.len() - ids.iter().collect::<BTreeSet<_>>().len()
    };
    let mut faults: BTreeMap<String, u64> = BTreeMap::new();
    for c in &records.calls {
        if let Some(k) = c.fault {
            *faults.entry(format!("{k:?}")).or_default() += 1;
        }
    }
    let fault_total: u64 = faults.values().sum();
    tick_ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| tick_ms[((tick_ms.len() as f64 - 1.0) * p) as usize];
    let max_of = |name: &str| tick_lines.iter().map(|l| field(l, name)).max().unwrap_or(0);
    let sum_of = |name: &str| tick_lines.iter().map(|l| field(l, name)).sum::<u64>();
    let lost = not_cloned.len() as i64 - missed_logged as i64 - given_up_logged as i64;
    let out = json!({
        "minutes": minutes, "recovery_minutes": RECOVERY_MINUTES, "instances": INSTANCES, "tasks": tasks,
        "expected_slots": expected.len(), "slots_cloned": counts.slots_cloned, "clones": counts.clones,
        "duplicate_slots": counts.duplicate_slots, "unexpected_slots": unexpected.len(),
        "not_cloned": not_cloned.len(), "missed_logged": missed_logged,
        "given_up_logged": given_up_logged, "lost": lost.max(0),
        "enqueues": counts.enqueues, "enqueue_duplicates": counts.enqueue_duplicates,
        "dashboard_runs": runs, "log_lines": log_lines, "deferred_logged": deferred,
        "failed_logged": failed, "single_instance_skips": skipped_single,
        "events_delivered": delivered, "events_doubled": doubled, "events_skipped": skipped,
        "minutes_with_three_events_at_once": concurrent, "minutes_overlapping_the_next": overlapping,
        "restart": {"at_minute": restart_at, "due_at_kill": expected.iter().filter(|s| s.2 == start / MINUTE + restart_at).count(),
                    "down_minutes": down_minutes, "restart_seconds": restart_seconds,
                    "before": before_restart.as_ref().map(|c| json!({"clones": c.clones, "slots_cloned": c.slots_cloned,
                        "duplicate_slots": c.duplicate_slots, "enqueues": c.enqueues}))},
        "clearml_calls": records.calls.len(), "faults": faults, "faults_total": fault_total,
        "fault_rate_seen": fault_total as f64 / records.calls.len().max(1) as f64,
        "tick_lines": tick_lines.len(), "max_subrequests_per_tick": max_of("subrequests"),
        "subrequests_total": sum_of("subrequests"), "max_kv_reads_per_tick": max_of("kv_reads"),
        "max_kv_writes_per_tick": max_of("kv_writes"), "kv_reads_total": sum_of("kv_reads"),
        "kv_writes_total": sum_of("kv_writes"), "kv_lists_total": sum_of("kv_lists"),
        "do_requests_total": sum_of("do_requests"), "rows_written_total": sum_of("rows_written"),
        "tick_wall_ms": {"median": pct(0.5), "p95": pct(0.95), "max": pct(1.0)},
        "wall_seconds": wall.elapsed().as_secs_f64(),
        "orphans": orphans.len(),
        "notifications": {"received": told.len(), "by_event": told_by_kind, "unsigned": unsigned,
            "slots_failing_for_good": expected_failing.len(),
            "slots_not_launched_and_not_told": untold.len(), "launched_slots_told_as_failed": false_alarms.len(),
            "duplicate_deliveries": duplicate_ids,
            "examples_told_as_failed": false_alarms.iter().take(5).map(|s| format!("{s:?}")).collect::<Vec<_>>()},
        "examples_not_cloned": not_cloned.iter().take(5).map(|s| format!("{s:?}")).collect::<Vec<_>>(),
        "examples_unexpected": unexpected.iter().take(5).map(|s| format!("{s:?}")).collect::<Vec<_>>(),
    });
    let dir = repo_root().join("target/reliability");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("soak.json"),
        serde_json::to_string_pretty(&out).unwrap(),
    )
    .unwrap();
    println!("soak: {}", serde_json::to_string_pretty(&out).unwrap());

    assert_eq!(counts.duplicate_slots, 0, "a slot cloned twice");
    assert_eq!(counts.enqueue_duplicates, 0, "a clone enqueued twice");
    assert!(
        unexpected.is_empty(),
        "clones of slots not due: {unexpected:?}"
    );
    assert!(
        not_cloned.len() as u64 <= missed_logged + given_up_logged,
        "slots neither launched nor logged as missed or given up: {not_cloned:?}"
    );
    assert_eq!(counts.enqueues, counts.clones, "every clone enqueued");
    assert!(
        orphans.is_empty(),
        "clones neither enqueued nor deleted: {orphans:?}"
    );
    assert_eq!(
        runs, counts.slots_cloned as u64,
        "every run on the dashboard"
    );
    assert!(fault_total > 100, "faults were injected: {fault_total}");
    assert_eq!(unsigned, 0, "every notification signed");
    assert!(
        told_by_kind.get("slot_missed").is_some_and(|n| *n > 0)
            && told_by_kind.get("launch_failed").is_some_and(|n| *n > 0),
        "the soak had slots to tell of: {told_by_kind:?}"
    );
    assert!(
        untold.is_empty(),
        "slots neither launched nor told: {untold:?}"
    );
    assert!(
        false_alarms.is_empty(),
        "launched slots told as failed: {false_alarms:?}"
    );
    // The stand-in's agent completes every run it starts, and nothing else ends one: a run told
    // as failed is one a stale read ended.
    assert_eq!(
        told_by_kind.get("run_failed"),
        None,
        "runs told as failed: {told_by_kind:?}"
    );
}
