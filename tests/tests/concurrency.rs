//! Concurrency end to end, counted from the ClearML stand-in's records (never from the worker's
//! own log): scheduled events for the same minute at once, a tick slowed by ClearML while the
//! next minute's tick starts, a worker killed between clone and enqueue, and bursts of API
//! writes (creates, edits, run now, share links, pause and resume) while ticks run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use scheduler_e2e::api_client::Api;
use scheduler_e2e::harness::{TempDir, WorkerOptions, WorkerProcess};
use scheduler_e2e::standin::{
    self, demo, FaultConfig, FaultKind, Records, ScriptedFault, StandinConfig, StandinHandle,
};
use serde_json::{json, Value};

const TOKEN: &str = "concurrency-test-admin-token-0123456789";
const MINUTE: i64 = 60_000;

fn worker_for(clearml: &StandinHandle, persist_to: Option<std::path::PathBuf>) -> WorkerProcess {
    WorkerProcess::start(WorkerOptions {
        persist_to,
        ..WorkerOptions::admin(TOKEN)
            .clearml(clearml)
            .var("LAUNCH_LEASE_SECONDS", "12")
            .var("CLEARML_TIMEOUT_SECONDS", "2")
    })
    .unwrap()
}

use scheduler_e2e::harness::next_0620_ms as slot_0620;

/// An instance of `n` daily 06:20 tasks (with parameters, into a project).
fn daily_tasks(name: &str, n: usize) -> Value {
    let tasks: Vec<Value> = (0..n)
        .map(|i| {
            json!({"id": format!("task-{i}"), "base_task_id": demo::TASK_TRAIN, "queue": "default",
                   "destination_project": "Scheduled/concurrency", "recurrence": "daily",
                   "times": ["06:20"], "task_parameters": {"Args/batch": format!("{i}")}})
        })
        .collect();
    json!({"format": "clearml-task-scheduler/v1", "name": name, "scheduled_tasks": tasks})
}

async fn create(api: &Api, config: &Value) -> String {
    let made = api.post("/api/instances", config).await.unwrap();
    made["id"].as_str().unwrap().to_string()
}

/// What ClearML holds for the slots: clones per slot tag, enqueues per clone, and clones
/// neither enqueued nor deleted (orphans).
struct Outcome {
    clones_per_slot: BTreeMap<String, usize>,
    enqueues_per_clone: BTreeMap<String, usize>,
    orphans: Vec<String>,
}

fn outcome(records: &Records) -> Outcome {
    let mut clones_per_slot = BTreeMap::new();
    for c in &records.clones {
        let tag = c
            .system_tags
            .iter()
            .find(|t| t.starts_with("sched-v1:"))
            .expect("a slot tag")
            .clone();
        *clones_per_slot.entry(tag).or_insert(0) += 1;
    }
    let mut enqueues_per_clone = BTreeMap::new();
    for e in &records.enqueues {
        *enqueues_per_clone.entry(e.task.clone()).or_insert(0) += 1;
    }
    let deleted: BTreeSet<&str> = records.deletes.iter().map(|d| d.task.as_str()).collect();
    let orphans = records
        .clones
        .iter()
        .filter(|c| !enqueues_per_clone.contains_key(&c.id) && !deleted.contains(c.id.as_str()))
        .map(|c| c.id.clone())
        .collect();
    Outcome {
        clones_per_slot,
        enqueues_per_clone,
        orphans,
    }
}

/// Each of `slots` slots launched exactly once: one enqueued clone per slot, no clone enqueued
/// twice, nothing left un-enqueued.
fn assert_exactly_once(records: &Records, slots: usize) {
    let o = outcome(records);
    let enqueued_slots: BTreeSet<&str> = records
        .clones
        .iter()
        .filter(|c| o.enqueues_per_clone.contains_key(&c.id))
        .filter_map(|c| c.system_tags.iter().find(|t| t.starts_with("sched-v1:")))
        .map(String::as_str)
        .collect();
    assert_eq!(
        enqueued_slots.len(),
        slots,
        "slots enqueued: {enqueued_slots:?}"
    );
    assert_eq!(
        o.enqueues_per_clone.len(),
        slots,
        "one enqueued clone per slot: {:?}",
        o.enqueues_per_clone
    );
    assert!(
        o.enqueues_per_clone.values().all(|n| *n == 1),
        "a clone enqueued twice: {:?}",
        o.enqueues_per_clone
    );
    assert!(
        o.orphans.is_empty(),
        "clones left un-enqueued: {:?}",
        o.orphans
    );
    assert_eq!(o.clones_per_slot.len(), slots);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_and_three_events_for_the_same_minute_launch_each_slot_once() {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let worker = worker_for(&clearml, None);
    let api = Api::new(&worker.url, TOKEN);
    let a = create(&api, &daily_tasks("Racing A", 6)).await;
    let b = create(&api, &daily_tasks("Racing B", 6)).await;
    let slot = slot_0620();
    worker.trigger_scheduled_at_once(slot - MINUTE, 2);
    worker.trigger_scheduled_at_once(slot, 3);
    worker.trigger_scheduled_at_once(slot + MINUTE, 2);
    let records = clearml.records();
    assert_exactly_once(&records, 12);
    assert!(
        outcome(&records).clones_per_slot.values().all(|n| *n == 1),
        "the claim keeps racing ticks to one clone per slot: {:?}",
        outcome(&records).clones_per_slot
    );
    for id in [a, b] {
        let dash = api
            .get(&format!("/api/instances/{id}/dashboard?runs_page_size=500"))
            .await
            .unwrap();
        assert_eq!(
            dash["runs"]["total"], 6,
            "every run on the dashboard once: {dash}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_slowed_by_clearml_overlaps_the_next_minute_and_launches_once() {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let worker = worker_for(&clearml, None);
    let api = Api::new(&worker.url, TOKEN);
    create(&api, &daily_tasks("Slow ClearML", 4)).await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot - MINUTE)).unwrap();
    // Every call takes 1.5 s: the 06:20 tick is still launching when 06:21's starts.
    clearml.set_faults(FaultConfig {
        fail_rate: 1.0,
        kinds: vec![FaultKind::Delay],
        delay_ms: 1500,
        ..Default::default()
    });
    std::thread::scope(|s| {
        s.spawn(|| worker.trigger_scheduled(Some(slot)).unwrap());
        std::thread::sleep(Duration::from_millis(700));
        s.spawn(|| worker.trigger_scheduled(Some(slot + MINUTE)).unwrap());
        std::thread::sleep(Duration::from_millis(700));
        s.spawn(|| worker.trigger_scheduled(Some(slot + MINUTE)).unwrap());
    });
    clearml.clear_faults();
    // Whatever the slow ticks left (a call past its lease, a retry waiting for its backoff)
    // is finished by the next ticks. The object's alarm may have joined in, claiming a launch
    // the slow tick left for later; if the runtime stops that alarm without ending it (seen
    // in local workerd when another request sets the alarm meanwhile), its claim is released
    // twice its lease (12 s) after it was made: ticks go on, a second apart, until then.
    let started = std::time::Instant::now();
    let mut m = 2;
    while m < 12
        || (outcome(&clearml.records()).enqueues_per_clone.len() < 4
            && started.elapsed() < Duration::from_secs(40))
    {
        worker.trigger_scheduled(Some(slot + m * MINUTE)).unwrap();
        if m >= 12 {
            std::thread::sleep(Duration::from_secs(1));
        }
        m += 1;
    }
    assert_exactly_once(&clearml.records(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_between_clone_and_enqueue_launches_once_after_its_restart() {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let state = TempDir::new("kill-mid-launch").unwrap();
    let mut worker = worker_for(&clearml, Some(state.path.clone()));
    let api = Api::new(&worker.url, TOKEN);
    let id = create(&api, &daily_tasks("Killed", 1)).await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot - MINUTE)).unwrap();
    // The enqueue hangs; the worker dies while it does.
    clearml.push_fault(ScriptedFault {
        delay_ms: Some(3000),
        ..ScriptedFault::new("tasks.enqueue", FaultKind::Delay)
    });
    let url = format!(
        "{}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time={slot}",
        worker.url
    );
    let tick = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status()) });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while clearml.records().clones.is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Cloned; the tag check and the parameters take a few milliseconds, then the enqueue hangs.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(clearml.records().clones.len(), 1, "cloned before the kill");
    assert_eq!(
        clearml.records().enqueues.len(),
        0,
        "not enqueued before the kill"
    );
    let killed_at = std::time::Instant::now();
    worker.stop();
    let _ = tick.await;
    // A new worker on the same storage: the dead one's claim is taken over after the lease
    // (12 s here), from wherever that launch stopped.
    let worker = worker_for(&clearml, Some(state.path.clone()));
    let api = Api::new(&worker.url, TOKEN);
    // A tick before the lease runs out leaves the dead worker's launch alone.
    worker.trigger_scheduled(Some(slot + MINUTE)).unwrap();
    let lease_over = killed_at + Duration::from_secs(13);
    tokio::time::sleep(lease_over.saturating_duration_since(std::time::Instant::now())).await;
    for m in 2..5 {
        worker.trigger_scheduled(Some(slot + m * MINUTE)).unwrap();
    }
    assert_exactly_once(&clearml.records(), 1);
    let dash = api
        .get(&format!("/api/instances/{id}/dashboard?log_page_size=500"))
        .await
        .unwrap();
    assert_eq!(dash["runs"]["total"], 1, "{dash}");
    let log = dash["log"]["items"].to_string();
    assert!(log.contains("interrupted"), "the takeover is logged: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_api_writes_while_ticks_run_are_all_kept() {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let worker = Arc::new(worker_for(&clearml, None));
    let api = Api::new(&worker.url, TOKEN);
    let stop = Arc::new(AtomicBool::new(false));
    let slot = slot_0620();
    // Ticks all along, back to back (each waits for the one before: on a loaded machine a
    // tick takes longer, and the bursts below still see several).
    let ticks = {
        let (worker, stop) = (worker.clone(), stop.clone());
        tokio::task::spawn_blocking(move || {
            let mut m = 0;
            while !stop.load(Ordering::Relaxed) {
                let _ = worker.trigger_scheduled(Some(slot - 60 * MINUTE + m * MINUTE));
                m += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            m
        })
    };
    api_bursts(&api).await;
    stop.store(true, Ordering::Relaxed);
    let ticked = ticks.await.unwrap();
    assert!(ticked > 3, "ticks ran meanwhile: {ticked}");
}

/// `method path` (with `{}` as the body for POST and PUT, or `body`): (status, answer).
async fn call(
    api: &Api,
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
) -> (u16, Value) {
    let empty = json!({});
    let body = match (&body, &method) {
        (Some(b), _) => Some(b),
        (None, &reqwest::Method::POST | &reqwest::Method::PUT) => Some(&empty),
        _ => None,
    };
    api.send(method, &path, body).await.unwrap()
}

async fn create_owned(api: &Api, config: Value) -> String {
    create(api, &config).await
}

async fn api_bursts(api: &Api) {
    use futures_util::future::join_all;
    use reqwest::Method;
    // 10 creates at once: every one listed.
    let made: Vec<String> =
        join_all((0..10).map(|i| create_owned(api, daily_tasks(&format!("Burst {i}"), 10)))).await;
    let list = api.get("/api/instances").await.unwrap();
    let listed: BTreeSet<&str> = list["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    for id in &made {
        assert!(
            listed.contains(id.as_str()),
            "{id} created (201) but not listed: {list}"
        );
    }
    let id = &made[0];

    // Run now for 10 tasks at once: every request kept (pending, or launched by a tick).
    let answers = join_all((0..10).map(|i| {
        call(
            api,
            Method::POST,
            format!("/api/instances/{id}/tasks/task-{i}/run"),
            None,
        )
    }))
    .await;
    assert!(answers.iter().all(|a| a.0 == 202), "{answers:?}");
    let detail = api.get(&format!("/api/instances/{id}")).await.unwrap();
    let dash = api
        .get(&format!("/api/instances/{id}/dashboard"))
        .await
        .unwrap();
    let pending: BTreeSet<String> = detail["run_now"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["item"].as_str().unwrap().to_string())
        .collect();
    let launched: BTreeSet<String> = dash["runs"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["item"].as_str().unwrap().to_string())
        .collect();
    for i in 0..10 {
        let item = format!("task-{i}");
        assert!(
            pending.contains(&item) || launched.contains(&item),
            "run now of {item} answered 202 but is neither pending nor run: {detail} {dash}"
        );
    }

    // 8 share links at once: 8 listed, each works.
    let shares = join_all((0..8).map(|_| {
        call(
            api,
            Method::POST,
            format!("/api/instances/{id}/shares"),
            None,
        )
    }))
    .await;
    let tokens: Vec<(String, String)> = shares
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            (
                body["token"].as_str().unwrap().to_string(),
                body["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let listed = api
        .get(&format!("/api/instances/{id}/shares"))
        .await
        .unwrap();
    assert_eq!(listed["shares"].as_array().unwrap().len(), 8, "{listed}");
    // Revoke four and create four at once: the other four and the new four work.
    let revoke = join_all(tokens[..4].iter().map(|(_, hash)| {
        call(
            api,
            Method::DELETE,
            format!("/api/instances/{id}/shares/{hash}"),
            None,
        )
    }));
    let more = join_all((0..4).map(|_| {
        call(
            api,
            Method::POST,
            format!("/api/instances/{id}/shares"),
            None,
        )
    }));
    let (revoked, more) = futures_util::join!(revoke, more);
    assert!(revoked.iter().all(|r| r.0 == 204), "{revoked:?}");
    let listed = api
        .get(&format!("/api/instances/{id}/shares"))
        .await
        .unwrap();
    assert_eq!(listed["shares"].as_array().unwrap().len(), 8, "{listed}");
    let public = Api::new(&api.base, "");
    for (token, _) in &tokens[..4] {
        let (status, _) = call(&public, Method::GET, format!("/api/share/{token}"), None).await;
        assert_eq!(status, 404, "a revoked link is dead");
    }
    let live: Vec<String> = tokens[4..]
        .iter()
        .map(|(t, _)| t.clone())
        .chain(
            more.iter()
                .map(|m| m.1["token"].as_str().unwrap().to_string()),
        )
        .collect();
    for token in &live {
        let (status, _) = call(&public, Method::GET, format!("/api/share/{token}"), None).await;
        assert_eq!(status, 200, "a link answered 201 works");
    }

    // 6 edits of one instance at once: each gets its own revision; the newest is what is kept,
    // in the instance and in the list.
    let edits = join_all((0..6).map(|i| {
        call(
            api,
            Method::PUT,
            format!("/api/instances/{id}"),
            Some(daily_tasks(&format!("Edited {i}"), 10)),
        )
    }))
    .await;
    let mut revisions: Vec<(u64, String)> = edits
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            (
                body["revision"].as_u64().unwrap(),
                body["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    revisions.sort();
    revisions.dedup_by_key(|r| r.0);
    assert_eq!(revisions.len(), 6, "six distinct revisions: {revisions:?}");
    let newest = revisions.last().unwrap().clone();
    let detail = api.get(&format!("/api/instances/{id}")).await.unwrap();
    assert_eq!(detail["revision"], newest.0);
    assert_eq!(detail["name"], newest.1.as_str());
    let list = api.get("/api/instances").await.unwrap();
    let entry = list["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        entry["name"],
        newest.1.as_str(),
        "the list shows the newest edit: {entry}"
    );
    assert_eq!(entry["revision"], newest.0);

    // Pause and resume at once: the state kept is the newest answer's.
    let other = &made[1];
    let toggles = join_all((0..8).map(|i| {
        let action = if i % 2 == 0 { "pause" } else { "resume" };
        call(
            api,
            Method::POST,
            format!("/api/instances/{other}/{action}"),
            None,
        )
    }))
    .await;
    let newest = toggles
        .iter()
        .map(|t| t.1.clone())
        .max_by_key(|b| b["revision"].as_u64().unwrap())
        .unwrap();
    let detail = api.get(&format!("/api/instances/{other}")).await.unwrap();
    assert_eq!(detail["paused"], newest["paused"], "{detail}");
    let list = api.get("/api/instances").await.unwrap();
    let entry = list["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == other.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["paused"], newest["paused"], "{entry}");
}

/// A poll whose answer was read before an overlapping tick's enqueue and lands after that
/// launch settled: the clone it saw `created` is now a run, queued, and stays one (it was
/// ended as "stopped", told as a failed run and never watched again, while ClearML had it
/// queued). Task `a` fires at 06:20 (its run is what makes the next ticks poll), `b` at 06:21,
/// whose enqueue is slow; the 06:22 tick's poll reads `b` then and answers late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_read_before_an_overlapping_enqueue_does_not_end_that_run() {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let worker = Arc::new(worker_for(&clearml, None));
    let api = Api::new(&worker.url, TOKEN);
    let task = |id: &str, at: &str| {
        json!({"id": id, "base_task_id": demo::TASK_TRAIN, "queue": "default",
               "recurrence": "daily", "times": [at]})
    };
    let id = create(
        &api,
        &json!({"format": "clearml-task-scheduler/v1", "name": "Polled late",
                "scheduled_tasks": [task("a", "06:20"), task("b", "06:21")]}),
    )
    .await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    assert_eq!(clearml.records().enqueues.len(), 1);
    clearml.push_fault(ScriptedFault {
        delay_ms: Some(1500),
        ..ScriptedFault::new("tasks.enqueue", FaultKind::Delay)
    });
    let listings = clearml.records().count("tasks.get_all");
    let first = {
        let worker = worker.clone();
        tokio::task::spawn_blocking(move || worker.trigger_scheduled(Some(slot + MINUTE)))
    };
    // The first tick polls `a`, clones `b` and lists `b`'s slot (its claim check): two listings
    // and the clone, then its enqueue is held back.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while clearml.records().clones.len() < 2
        || clearml.records().count("tasks.get_all") < listings + 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "b never cloned and listed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The next tick's poll reads `b` while its enqueue is held back: `created`.
    clearml.push_fault(ScriptedFault {
        delay_ms: Some(1800),
        ..ScriptedFault::new("tasks.get_all", FaultKind::SlowAnswer)
    });
    let second = {
        let worker = worker.clone();
        tokio::task::spawn_blocking(move || worker.trigger_scheduled(Some(slot + 2 * MINUTE)))
    };
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    let records = clearml.records();
    assert_eq!(records.clones.len(), 2);
    assert_eq!(records.enqueues.len(), 2);
    let b = records.enqueues[1].task.clone();
    let late = records
        .calls_to("tasks.get_all")
        .filter(|c| c.fault == Some(FaultKind::SlowAnswer))
        .count();
    assert_eq!(late, 1, "the late poll was made");
    // ... and read ClearML before `b`'s enqueue ran (a call is recorded when it has run; the
    // slow answer is held back after that).
    let read_at = records
        .calls_to("tasks.get_all")
        .find(|c| c.fault == Some(FaultKind::SlowAnswer))
        .map(|c| c.at_ms)
        .unwrap();
    let enqueued_at = records
        .calls_to("tasks.enqueue")
        .filter(|c| c.task.as_deref() == Some(b.as_str()))
        .map(|c| c.at_ms)
        .next()
        .unwrap();
    assert!(
        read_at < enqueued_at,
        "poll read at {read_at} ms, b enqueued at {enqueued_at} ms"
    );
    let dash = api
        .get(&format!("/api/instances/{id}/dashboard"))
        .await
        .unwrap();
    let run = dash["runs"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["task_id"] == b.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(run["status"], "queued", "{dash}");
    let log = dash["log"]["items"].to_string();
    assert!(!log.contains("was stopped"), "{log}");
    // Still watched: ClearML's next word on it is read.
    clearml.with_state(|s| s.task_mut(&b).unwrap().doc["status"] = json!("in_progress"));
    worker.trigger_scheduled(Some(slot + 3 * MINUTE)).unwrap();
    let dash = api
        .get(&format!("/api/instances/{id}/dashboard"))
        .await
        .unwrap();
    assert!(dash["runs"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["task_id"] == b.as_str() && r["status"] == "in_progress"));
}

/// Every instance's name as the list shows it, and as its own record has it.
async fn listed_and_saved_names(api: &Api, ids: &[String]) -> (Vec<String>, Vec<String>) {
    let list = api.get("/api/instances").await.unwrap();
    let listed = ids
        .iter()
        .map(|id| {
            list["instances"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["id"] == id.as_str())
                .map(|i| i["name"].as_str().unwrap().to_string())
                .unwrap_or_default()
        })
        .collect();
    let mut saved = Vec::new();
    for id in ids {
        let detail = api.get(&format!("/api/instances/{id}")).await.unwrap();
        saved.push(detail["name"].as_str().unwrap().to_string());
    }
    (listed, saved)
}

/// Saves whose Directory call never finished (the worker killed under a burst of renames) are
/// told to the Directory by the instance's alarm after the restart: the list, and the cron
/// that plans by the Directory's revisions, end with every instance's last saved revision.
/// Before, such a save (or one whose Directory call failed: it answered 503) stayed unlisted
/// until the instance's next save: the list kept the old name, and the cron planned the
/// instance by the revision before the edit. Each round kills the worker mid-burst (SIGKILL);
/// rounds go on until a restart found a save written and not listed (usually within three;
/// counted and printed), and every round checks the list catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_the_directory_never_heard_of_reach_the_list_after_a_restart() {
    use futures_util::future::join_all;
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let state = TempDir::new("relist").unwrap();
    let mut worker = worker_for(&clearml, Some(state.path.clone()));
    let api = Api::new(&worker.url, TOKEN);
    let ids: Vec<String> =
        join_all((0..16).map(|i| create_owned(&api, daily_tasks(&format!("Renamed {i}-0"), 1))))
            .await;
    let mut unlisted_at_restart = 0;
    let mut rounds = 0;
    for round in 0..10 {
        if rounds >= 2 && unlisted_at_restart > 0 {
            break;
        }
        rounds += 1;
        // Renames, one loop per instance, each PUT after the last one's answer; the highest
        // rename answered 200 is the least each instance must keep.
        let stop = Arc::new(AtomicBool::new(false));
        let loops: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let (api, id, stop) = (Api::new(&worker.url, TOKEN), id.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut answered = None;
                    for k in 1.. {
                        let name = format!("Renamed {i}-{round}-{k}");
                        let mut config = daily_tasks(&name, 1);
                        config["name"] = json!(name);
                        match api
                            .send(
                                reqwest::Method::PUT,
                                &format!("/api/instances/{id}"),
                                Some(&config),
                            )
                            .await
                        {
                            Ok((200, _)) => answered = Some(name),
                            _ => break,
                        }
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    answered
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        worker.kill();
        stop.store(true, Ordering::Relaxed);
        let answered: Vec<Option<String>> = join_all(loops)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        worker = worker_for(&clearml, Some(state.path.clone()));
        let api = Api::new(&worker.url, TOKEN);
        let (listed, saved) = listed_and_saved_names(&api, &ids).await;
        unlisted_at_restart += listed.iter().zip(&saved).filter(|(l, s)| l != s).count();
        for (i, (a, s)) in answered.iter().zip(&saved).enumerate() {
            // No save answered 200 is lost: the record holds it or a later one.
            let a = a
                .as_ref()
                .expect("some renames were answered before the kill");
            let k = |n: &str| n.rsplit('-').next().unwrap().parse::<u32>().unwrap();
            assert!(
                s.starts_with(&format!("Renamed {i}-{round}-")) && k(s) >= k(a),
                "answered {a}, kept {s}"
            );
        }
        // The alarms tell the Directory what it missed.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (listed, saved) = listed_and_saved_names(&api, &ids).await;
            if listed == saved {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: the list kept names the instances no longer have: listed {listed:?}, saved {saved:?}\n{}",
                worker.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    println!(
        "saves written but not listed when the worker restarted: {unlisted_at_restart} over {rounds} rounds"
    );
}
