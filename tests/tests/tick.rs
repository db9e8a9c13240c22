//! The minute tick end to end: the worker in workerd against the ClearML
//! stand-in, with the event's scheduled time chosen by the test.

use scheduler_e2e::api_client::Api;
use scheduler_e2e::harness::{WorkerOptions, WorkerProcess};
use scheduler_e2e::standin::{self, demo, FaultKind, ScriptedFault, StandinConfig, StandinHandle};
use serde_json::{json, Value};

const TOKEN: &str = "tick-test-admin-token-0123456789abcdef";
const MINUTE: i64 = 60_000;
/// Past the minutes a failed launch is retried under `catch_up: skip`.
const PAST_RETRIES: i64 = (scheduler_core::MIN_RETRY_WINDOW_MINUTES + 1) * MINUTE;

/// The slot's minute, then three minutes past its retries (under `skip`: the give-up, then
/// its clean-up asked again).
fn past_retries(slot: i64) -> [i64; 4] {
    [
        slot,
        slot + PAST_RETRIES,
        slot + PAST_RETRIES + MINUTE,
        slot + PAST_RETRIES + 2 * MINUTE,
    ]
}

use scheduler_e2e::harness::next_0620_ms as slot_0620;

/// "YYYY-MM-DD" of an epoch-milliseconds instant.
fn date_of(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn worker_for(clearml: &StandinHandle, persist_to: Option<std::path::PathBuf>) -> WorkerProcess {
    WorkerProcess::start(WorkerOptions {
        persist_to,
        ..WorkerOptions::admin(TOKEN)
            .clearml(clearml)
            .var("CLEARML_WEB_HOST", "http://clearml-web.invalid")
            // A dead worker's launch claims are taken over after 12 s (production: 200 s), and a
            // call may take 2 s (20 s): an attempt starts calls in its first 5 s (3 x 2 s + 1 s
            // before the lease ends).
            .var("LAUNCH_LEASE_SECONDS", "12")
            .var("CLEARML_TIMEOUT_SECONDS", "2")
    })
    .unwrap()
}

fn daily_0620(queue: &str) -> Value {
    json!({
        "format": "clearml-task-scheduler/v1",
        "name": "Nightly retraining",
        "scheduled_tasks": [{
            "id": "retrain",
            "base_task_id": demo::TASK_TRAIN,
            "destination_project": "Scheduled/retrain",
            "queue": queue,
            "recurrence": "daily",
            "times": ["06:20"],
            "task_parameters": {"Args/batch": "12"}
        }]
    })
}

/// An epoch-milliseconds instant as the API writes times: RFC 3339 UTC, whole seconds.
fn dash_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000) % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date_of(ms),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

async fn create(api: &Api, config: &Value) -> String {
    api.create(config).await.unwrap()
}

async fn dashboard(api: &Api, id: &str) -> Value {
    api.get(&format!(
        "/api/instances/{id}/dashboard?log_page_size=500&runs_page_size=500"
    ))
    .await
    .unwrap()
}

fn log_messages(dash: &Value) -> Vec<String> {
    dash["log"]["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| l["message"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Ticks a minute at a time after `slot` (the stand-in's agent runs a clone in about three
/// seconds) until the instance's newest run is completed; returns that run.
async fn tick_until_completed(worker: &WorkerProcess, api: &Api, id: &str, slot: i64) -> Value {
    let mut run = Value::Null;
    for minute in 1..=20 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        worker
            .trigger_scheduled(Some(slot + minute * MINUTE))
            .unwrap();
        run = dashboard(api, id).await["runs"]["items"][0].clone();
        if run["status"] == "completed" {
            break;
        }
    }
    assert_eq!(run["status"], "completed", "{run}");
    run
}

/// A stand-in whose agent runs each clone in about three seconds, a worker on it, and one
/// instance with the daily 06:20 task: the stand-in, the worker, an API client, the instance id.
/// The stand-in without an agent and a worker with `vars`.
async fn standin_and_worker(vars: &[(&str, &str)]) -> (StandinHandle, WorkerProcess) {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let mut opts = WorkerOptions::admin(TOKEN).clearml(&clearml);
    for (name, value) in vars {
        opts = opts.var(name, value);
    }
    let worker = WorkerProcess::start(opts).unwrap();
    (clearml, worker)
}

/// The stand-in without an agent, a worker on it, and an API client.
async fn without_agent() -> (StandinHandle, WorkerProcess, Api) {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let worker = worker_for(&clearml, None);
    let api = Api::new(&worker.url, TOKEN);
    (clearml, worker, api)
}

/// The stand-in without an agent, the worker, and a daily 06:20 instance whose task has
/// `field` set to `value`.
async fn daily_instance_with(
    field: &str,
    value: Value,
) -> (StandinHandle, WorkerProcess, Api, String) {
    let (clearml, worker, api) = without_agent().await;
    let mut config = daily_0620("default");
    config["scheduled_tasks"][0][field] = value;
    let id = create(&api, &config).await;
    (clearml, worker, api, id)
}

async fn daily_instance_with_agent() -> (StandinHandle, WorkerProcess, Api, String) {
    instance_with_agent(1.0, &daily_0620("default")).await
}

/// An instance of `config` against a stand-in whose agent starts a queued task
/// `agent_seconds` after it was queued (and completes it as long after).
async fn instance_with_agent(
    agent_seconds: f64,
    config: &Value,
) -> (StandinHandle, WorkerProcess, Api, String) {
    let clearml = standin::spawn(StandinConfig {
        agent_seconds,
        ..Default::default()
    })
    .await
    .unwrap();
    let worker = worker_for(&clearml, None);
    let api = Api::new(&worker.url, TOKEN);
    let id = create(&api, config).await;
    (clearml, worker, api, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_slot_is_cloned_and_enqueued_once_with_its_name_tags_and_parameters() {
    let (clearml, worker, api, id) = daily_instance_with_agent().await;
    let slot = slot_0620();
    // The base task's own tags go on to its clones (a pipeline controller's "pipeline" system
    // tag too), but those clearml-server drops from a clone.
    clearml.with_state(|s| {
        let base = s.task_mut(demo::TASK_TRAIN).expect("the base task");
        base.doc.insert("tags".into(), json!(["nightly"]));
        base.doc
            .insert("system_tags".into(), json!(["pipeline", "development"]));
    });

    // Before the slot: nothing.
    worker.trigger_scheduled(Some(slot - MINUTE)).unwrap();
    assert_eq!(clearml.records().count("tasks.clone"), 0);

    // At the slot, delivered twice (a duplicate cron event): one clone.
    worker.trigger_scheduled(Some(slot)).unwrap();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let records = clearml.records();
    assert_eq!(
        records.clones.len(),
        1,
        "exactly one clone: {:?}",
        records.clones
    );
    let clone = &records.clones[0];
    assert_eq!(clone.source, demo::TASK_TRAIN);
    assert_eq!(
        clone.name,
        format!("train model @ {} 06:20 UTC", date_of(slot))
    );
    assert_eq!(clone.tags, ["nightly", "scheduled", "scheduler:retrain"]);
    assert_eq!(clone.system_tags.len(), 3, "{:?}", clone.system_tags);
    assert_eq!(clone.system_tags[0], "pipeline");
    assert!(
        clone.system_tags[1].starts_with("sched-v1:")
            && clone.system_tags[2].starts_with("sched-instance:"),
        "{:?}",
        clone.system_tags
    );
    assert_eq!(
        clone.parent.as_deref(),
        Some(demo::TASK_TRAIN),
        "the base is the clone's parent"
    );
    assert_eq!(records.enqueues.len(), 1);
    assert_eq!(records.enqueues[0].task, clone.id);
    assert_eq!(records.enqueues[0].queue, demo::QUEUE_DEFAULT);
    let task = clearml.task(&clone.id).unwrap();
    assert_eq!(
        task["hyperparams"]["Args"]["batch"]["value"], "12",
        "{task}"
    );
    let project = task["project"].as_str().unwrap().to_string();
    assert_ne!(
        project,
        demo::PROJECT_EXAMPLES,
        "cloned into the destination project"
    );

    // The instance list shows the last run and the next one (from the ticker).
    let list = api.get("/api/instances").await.unwrap();
    let listed = &list["instances"][0];
    assert_eq!(listed["last_run"]["task_id"], clone.id.as_str(), "{list}");
    assert_eq!(listed["next_run"], dash_time(slot + 86_400_000), "{list}");

    // The dashboard shows the run and the log says what happened.
    let dash = dashboard(&api, &id).await;
    let runs = dash["runs"]["items"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{dash}");
    assert_eq!(runs[0]["task_id"], clone.id.as_str());
    assert!(runs[0]["finished"].is_null());
    assert_eq!(runs[0]["slot"], dash_time(slot), "{dash}");
    assert_eq!(
        runs[0]["link"],
        format!(
            "http://clearml-web.invalid/projects/{project}/experiments/{}/output/log",
            clone.id
        ),
        "{dash}"
    );
    let log = log_messages(&dash).join("\n");
    assert!(log.contains("Scheduling Job"), "{log}");
    assert!(
        log.contains(&format!("Launched retrain as ClearML task {}", clone.id))
            || log.contains(&clone.id),
        "{log}"
    );

    // The agent runs it (queued, in progress, completed, a second each); later ticks poll
    // and fill `finished`.
    let run = tick_until_completed(&worker, &api, &id, slot).await;
    assert!(run["finished"].is_string(), "{run}");
    assert_eq!(clearml.records().clones.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_clone_answer_and_a_restart_never_make_a_second_clone() {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let state = scheduler_e2e::harness::TempDir::new("kv-restart").unwrap();
    let mut worker = worker_for(&clearml, Some(state.path.clone()));
    let api = Api::new(&worker.url, TOKEN);
    let id = create(&api, &daily_0620("default")).await;
    let slot = slot_0620();

    // ClearML makes the clone but the answer is lost.
    clearml.push_fault(ScriptedFault::new("tasks.clone", FaultKind::DropAfterClone));
    worker.trigger_scheduled(Some(slot)).unwrap();
    assert_eq!(clearml.records().clones.len(), 1);
    assert_eq!(
        clearml.records().enqueues.len(),
        0,
        "the worker never learnt the id"
    );

    // The worker dies; a new one on the same KV finds the clone by its tag and enqueues it.
    worker.stop();
    let worker = worker_for(&clearml, Some(state.path.clone()));
    let api = Api::new(&worker.url, TOKEN);
    worker.trigger_scheduled(Some(slot + MINUTE)).unwrap();
    worker.trigger_scheduled(Some(slot + 2 * MINUTE)).unwrap();
    let records = clearml.records();
    assert_eq!(
        records.clones.len(),
        1,
        "still one clone: {:?}",
        records.clones
    );
    assert_eq!(
        records.enqueues.len(),
        1,
        "enqueued once: {:?}",
        records.enqueues
    );
    let task = clearml.task(&records.clones[0].id).unwrap();
    assert_eq!(
        task["hyperparams"]["Args"]["batch"]["value"], "12",
        "the parameters reach a clone an earlier attempt made: {task}"
    );
    let dash = dashboard(&api, &id).await;
    assert_eq!(
        dash["runs"]["items"].as_array().map(Vec::len),
        Some(1),
        "{dash}"
    );
    let log = log_messages(&dash).join("\n");
    assert!(log.contains("failed"), "the lost answer is logged: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_queue_makes_no_clone_and_says_so() {
    let (clearml, worker, api) = without_agent().await;
    let id = create(&api, &daily_0620("no-such-queue")).await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    worker.trigger_scheduled(Some(slot + MINUTE)).unwrap();
    assert_eq!(clearml.records().clones.len(), 0, "no orphan clone");
    let log = log_messages(&dashboard(&api, &id).await).join("\n");
    assert!(log.contains("queue 'no-such-queue' was not found"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_tick_costs_one_kv_read_and_no_write() {
    let (clearml, worker, api) = without_agent().await;
    for _ in 0..3 {
        create(&api, &daily_0620("default")).await;
    }
    let slot = slot_0620();
    // The first tick sees new configurations: it plans them and writes.
    worker.trigger_scheduled(Some(slot - 30 * MINUTE)).unwrap();
    // Then nothing is due for 29 minutes.
    for m in 1..=5 {
        worker
            .trigger_scheduled(Some(slot - (30 - m) * MINUTE))
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let lines = worker.tick_lines();
    assert_eq!(lines.len(), 6, "one summary line per tick: {lines:#?}");
    assert!(lines[0].contains("ticked=3"), "{}", lines[0]);
    for idle in &lines[1..] {
        assert!(
            idle.contains("ticked=0")
                && idle.contains(
                    "kv_reads=1 kv_writes=0 kv_lists=0 do_requests=0 rows_written=0 subrequests=0"
                ),
            "idle tick: {idle}"
        );
    }
    assert_eq!(
        clearml.records().calls.len(),
        0,
        "an idle tick calls no ClearML"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_random_clearml_faults_every_slot_launches_exactly_once() {
    use scheduler_e2e::standin::FaultConfig;
    use std::collections::BTreeMap;
    let (clearml, worker, api) = without_agent().await;
    let tasks: Vec<Value> = (0..4)
        .map(|i| {
            json!({"id": format!("every-minute-{i}"), "base_task_id": demo::TASK_TRAIN, "queue": "default",
                   "destination_project": "Scheduled/soak", "recurrence": "cron", "cron": "* * * * *"})
        })
        .collect();
    let id = create(
        &api,
        &json!({"format": "clearml-task-scheduler/v1", "name": "Soak", "scheduled_tasks": tasks}),
    )
    .await;
    let start = slot_0620();
    clearml.set_faults(FaultConfig {
        fail_rate: 0.2,
        seed: Some(7),
        kinds: vec![
            FaultKind::Http500,
            FaultKind::Delay,
            FaultKind::DropAfterClone,
            FaultKind::ExpireTokens,
        ],
        delay_ms: 300,
        ..Default::default()
    });
    for minute in 0..12 {
        worker
            .trigger_scheduled(Some(start + minute * MINUTE))
            .unwrap();
        if minute % 5 == 4 {
            // A duplicate delivery now and then.
            worker
                .trigger_scheduled(Some(start + minute * MINUTE))
                .unwrap();
        }
    }
    let faults = clearml
        .records()
        .calls
        .iter()
        .filter(|c| c.fault.is_some())
        .count();
    assert!(faults > 10, "faults were injected: {faults}");
    // ClearML recovers; failed slots are retried within their catch-up window, after their
    // backoff (1, 2, 4, 8 then 15 minutes).
    clearml.clear_faults();
    for minute in 12..30 {
        worker
            .trigger_scheduled(Some(start + minute * MINUTE))
            .unwrap();
    }
    let records = clearml.records();
    let mut per_slot: BTreeMap<String, usize> = BTreeMap::new();
    for clone in &records.clones {
        let tag = clone
            .system_tags
            .iter()
            .find(|t| t.starts_with("sched-v1:"))
            .expect("slot tag");
        *per_slot.entry(tag.clone()).or_default() += 1;
    }
    let duplicates: Vec<_> = per_slot.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicates.is_empty(), "a slot cloned twice: {duplicates:?}");
    if per_slot.len() != 4 * 30 {
        let mut trouble = vec![];
        for page in 1..=4 {
            let dash = api
                .get(&format!(
                    "/api/instances/{id}/dashboard?log_page_size=500&log_page={page}"
                ))
                .await
                .unwrap();
            trouble.extend(
                log_messages(&dash)
                    .into_iter()
                    .filter(|l| !l.starts_with("Launch") || l.contains("fail")),
            );
        }
        let mut per_item: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for tag in per_slot.keys() {
            let (item, minute) = tag.rsplit_once(':').unwrap();
            per_item
                .entry(item.to_string())
                .or_default()
                .push(minute.parse::<i64>().unwrap() * 60_000);
        }
        let mut missing = vec![];
        for (item, minutes) in &per_item {
            for m in 0..30 {
                if !minutes.contains(&(start + m * MINUTE)) {
                    missing.push(format!("{item} at {}", dash_time(start + m * MINUTE)));
                }
            }
        }
        let about: Vec<&String> = trouble
            .iter()
            .filter(|l| {
                missing
                    .iter()
                    .any(|m| l.contains(m.rsplit_once(' ').unwrap().1))
            })
            .collect();
        panic!(
            "every slot of 4 every-minute tasks over 30 minutes launched: {} of {}; missing {missing:?}; about them:\n{about:#?}",
            per_slot.len(),
            4 * 30,
        );
    }
    let enqueued: std::collections::BTreeSet<&str> =
        records.enqueues.iter().map(|e| e.task.as_str()).collect();
    assert_eq!(enqueued.len(), 4 * 30, "every slot enqueued");
    assert_eq!(records.enqueues.len(), 4 * 30, "no clone enqueued twice");
    let deleted: std::collections::BTreeSet<&str> =
        records.deletes.iter().map(|d| d.task.as_str()).collect();
    let orphans: Vec<&str> = records
        .clones
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| !enqueued.contains(id) && !deleted.contains(id))
        .collect();
    assert!(
        orphans.is_empty(),
        "clones never enqueued nor deleted: {orphans:?}"
    );
    let dash = dashboard(&api, &id).await;
    assert_eq!(
        dash["runs"]["total"].as_u64(),
        Some(4 * 30),
        "every run on the dashboard"
    );
    let log = log_messages(&dash).join("\n");
    assert!(log.contains("failed"), "faults are logged: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_its_execution_limit_is_stopped_off_its_queue_with_a_log_line() {
    let (clearml, worker, api, id) = daily_instance_with("execution_limit_hours", json!(0.5)).await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let clone = clearml.records().clones[0].id.clone();
    worker.trigger_scheduled(Some(slot + 29 * MINUTE)).unwrap();
    assert_eq!(clearml.records().count("tasks.stop"), 0, "within its limit");
    // That tick only polled a run that is still queued: nothing to store.
    let polled = worker.tick_lines().pop().unwrap();
    assert!(
        polled.contains("ticked=1")
            && polled.contains("kv_writes=0")
            && polled.contains("rows_written=0")
            && polled.contains("subrequests=1"),
        "a poll that learns nothing writes nothing: {polled}"
    );
    worker.trigger_scheduled(Some(slot + 30 * MINUTE)).unwrap();
    assert_eq!(
        clearml.records().count("tasks.stop"),
        1,
        "queued past its limit: stopped"
    );
    assert_eq!(clearml.task(&clone).unwrap()["status"], "stopped");
    assert_eq!(
        clearml.with_state(|s| s.queues.iter().map(|q| q.entries.len()).sum::<usize>()),
        0,
        "off its queue"
    );
    worker.trigger_scheduled(Some(slot + 31 * MINUTE)).unwrap();
    let dash = dashboard(&api, &id).await;
    let log = log_messages(&dash).join("\n");
    assert!(
        log.contains(&format!("Aborting job due to timeout: {clone}")),
        "{log}"
    );
    assert_ne!(dash["runs"]["items"][0]["status"], "queued", "{dash}");
    assert!(
        dash["runs"]["items"][0]["finished"].is_string(),
        "a dequeued run is finished: {dash}"
    );
    // Finished: the ticks after it no longer poll it.
    worker.trigger_scheduled(Some(slot + 32 * MINUTE)).unwrap();
    let after = worker.tick_lines().pop().unwrap();
    assert!(
        after.contains("ticked=0") && after.contains("subrequests=0"),
        "nothing left to poll: {after}"
    );
}

/// The answer to the abort is lost after ClearML stopped the run: the poll right after it finds
/// the run stopped, and the log tells it as aborted by its limit, once, not as an abort that
/// failed and a run stopped before it finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_whose_answer_is_lost_after_clearml_stopped_the_run_is_told_as_the_abort() {
    let (clearml, worker, api, id) = daily_instance_with("execution_limit_hours", json!(0.5)).await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let clone = clearml.records().clones[0].id.clone();
    clearml.push_fault(ScriptedFault::new("tasks.stop", FaultKind::DropConnection));
    worker.trigger_scheduled(Some(slot + 30 * MINUTE)).unwrap();
    assert_eq!(clearml.records().count("tasks.stop"), 1);
    assert_eq!(clearml.task(&clone).unwrap()["status"], "stopped");
    worker.trigger_scheduled(Some(slot + 31 * MINUTE)).unwrap();
    assert_eq!(
        clearml.records().count("tasks.stop"),
        1,
        "stopped once: nothing to try again"
    );
    let dash = dashboard(&api, &id).await;
    let log = log_messages(&dash).join("\n");
    assert!(
        log.contains("was aborted: it ran past its execution limit"),
        "{log}"
    );
    assert!(!log.contains("stopped before it finished"), "{log}");
    assert!(!log.contains(&format!("Aborting {clone} failed")), "{log}");
    assert_eq!(dash["runs"]["items"][0]["status"], "stopped", "{dash}");
}

/// Five slots given up in a ClearML outage: while ClearML fails, their clean-ups cost one call
/// a tick, not one each; once it is back, a slot due then is enqueued before they are asked.
/// Counted from the stand-in's records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_ups_cost_one_call_a_tick_in_an_outage_and_wait_for_the_due_launches() {
    use scheduler_e2e::standin::FaultConfig;
    let (clearml, worker, api) = without_agent().await;
    let mut config = daily_0620("default");
    let task = config["scheduled_tasks"][0].clone();
    let mut tasks: Vec<Value> = (0..5)
        .map(|i| {
            let mut t = task.clone();
            t["id"] = json!(format!("retrain-{i}"));
            t["catch_up"] = json!("skip");
            t
        })
        .collect();
    let mut later = task.clone();
    later["id"] = json!("later");
    later["times"] = json!(["06:27"]);
    tasks.push(later);
    config["scheduled_tasks"] = json!(tasks);
    let id = create(&api, &config).await;
    let slot = slot_0620();
    clearml.set_faults(FaultConfig {
        fail_rate: 1.0,
        ..Default::default()
    });
    worker.trigger_scheduled(Some(slot)).unwrap();
    assert!(clearml.records().clones.is_empty());

    // 06:26: the five slots are past their retries, given up and to clean up; ClearML still fails.
    let before = clearml.records().calls.len();
    worker.trigger_scheduled(Some(slot + 6 * MINUTE)).unwrap();
    let calls: Vec<String> = clearml.records().calls[before..]
        .iter()
        .map(|c| c.endpoint.clone())
        .collect();
    assert_eq!(calls.len(), 1, "one call for the five clean-ups: {calls:?}");

    // 06:27: ClearML is back; the 06:27 slot is due, and the clean-ups are asked again.
    clearml.clear_faults();
    let before = clearml.records().calls.len();
    worker.trigger_scheduled(Some(slot + 7 * MINUTE)).unwrap();
    let calls: Vec<String> = clearml.records().calls[before..]
        .iter()
        .map(|c| c.endpoint.clone())
        .collect();
    let enqueue = calls
        .iter()
        .position(|c| c == "tasks.enqueue")
        .unwrap_or_else(|| panic!("the 06:27 slot enqueued: {calls:?}"));
    assert_eq!(
        calls[enqueue + 1..],
        vec!["tasks.get_all".to_string(); 5],
        "the launch first, then a list for each clean-up: {calls:?}"
    );
    let records = clearml.records();
    assert_eq!(records.clones.len(), 1);
    assert_eq!(records.enqueues.len(), 1);
    let log = log_messages(&dashboard(&api, &id).await).join("\n");
    for i in 0..5 {
        assert!(
            log.contains(&format!("retrain-{i}")),
            "retrain-{i}'s slot told as given up: {log}"
        );
    }
    assert!(!log.contains("Could not clean up"), "{log}");
}

/// Two slots given up, each leaving a clone not enqueued; an agent starts one clone just as
/// its clean-up deletes it, so ClearML refuses that delete (400: the task is running now). That
/// slot's own trouble does not hold up the other's clean-up, done in the same tick; the next
/// tick finds the running clone and makes it its slot's run. Counted from the stand-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_slots_refused_clean_up_holds_up_no_other() {
    let (clearml, worker, api) = without_agent().await;
    let mut config = daily_0620("default");
    config["scheduled_tasks"][0]["catch_up"] = json!("skip");
    let mut other = config["scheduled_tasks"][0].clone();
    other["id"] = json!("other");
    config["scheduled_tasks"]
        .as_array_mut()
        .unwrap()
        .push(other);
    let id = create(&api, &config).await;
    let slot = slot_0620();
    for _ in 0..2 {
        clearml.push_fault(ScriptedFault::new("tasks.enqueue", FaultKind::Http500));
    }
    worker.trigger_scheduled(Some(slot)).unwrap();
    let clones: Vec<String> = clearml
        .records()
        .clones
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert_eq!((clones.len(), clearml.records().enqueues.len()), (2, 0));

    clearml.push_fault(ScriptedFault::new(
        "tasks.delete",
        FaultKind::AgentTakesFirst,
    ));
    // The give-up minute and the next are each delivered three times at the same moment.
    worker.trigger_scheduled_at_once(slot + PAST_RETRIES, 3);
    let records = clearml.records();
    let started: Vec<&String> = clones
        .iter()
        .filter(|c| {
            clearml
                .task(c)
                .is_some_and(|t| t["status"] == "in_progress")
        })
        .collect();
    assert_eq!(started.len(), 1, "the agent took one clone");
    let deleted: Vec<&str> = records.deletes.iter().map(|d| d.task.as_str()).collect();
    let other: Vec<&str> = clones
        .iter()
        .filter(|c| *c != started[0])
        .map(String::as_str)
        .collect();
    assert_eq!(
        deleted, other,
        "the other slot's clone deleted in the same minute, once"
    );

    worker.trigger_scheduled_at_once(slot + PAST_RETRIES + MINUTE, 3);
    let dash = dashboard(&api, &id).await;
    let runs: Vec<&str> = dash["runs"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["task_id"].as_str())
        .collect();
    assert_eq!(
        runs,
        [started[0].as_str()],
        "the running clone is its slot's run: {dash}"
    );
    let log = log_messages(&dash).join("\n");
    assert!(!log.contains("Could not clean up"), "{log}");
    assert_eq!(clearml.records().deletes.len(), 1, "nothing else deleted");
}

/// Sets a task's status in the stand-in, as an agent would have.
fn set_status(clearml: &StandinHandle, id: &str, status: &str) {
    clearml.with_state(|s| {
        let t = s.task_mut(id).expect("the clone");
        t.doc.insert("status".into(), json!(status));
        t.enqueue_status = None;
    });
}

/// A running run past its limit is stopped (not forced); one that ended since the last poll is
/// left as it ended, never overwritten with "stopped".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_goes_by_the_runs_status_now_and_never_overwrites_how_it_ended() {
    let (clearml, worker, api, id) = daily_instance_with("execution_limit_hours", json!(0.5)).await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let clone = clearml.records().clones[0].id.clone();
    set_status(&clearml, &clone, "in_progress");
    worker.trigger_scheduled(Some(slot + 10 * MINUTE)).unwrap();
    // It completes on its own right before its limit; the scheduler last saw it running.
    set_status(&clearml, &clone, "completed");
    worker.trigger_scheduled(Some(slot + 30 * MINUTE)).unwrap();
    assert_eq!(clearml.records().count("tasks.stopped"), 0);
    assert_eq!(clearml.records().count("tasks.stop"), 0);
    assert_eq!(clearml.task(&clone).unwrap()["status"], "completed");
    let dash = dashboard(&api, &id).await;
    assert_eq!(dash["runs"]["items"][0]["status"], "completed", "{dash}");

    // The next day's run is still running at its limit: stopped, without force.
    let next = slot + 24 * 60 * MINUTE;
    worker.trigger_scheduled(Some(next)).unwrap();
    let second = clearml.records().clones[1].id.clone();
    set_status(&clearml, &second, "in_progress");
    worker.trigger_scheduled(Some(next + 10 * MINUTE)).unwrap();
    worker.trigger_scheduled(Some(next + 30 * MINUTE)).unwrap();
    assert_eq!(clearml.records().count("tasks.stopped"), 1);
    assert_eq!(clearml.task(&second).unwrap()["status"], "stopped");
}

/// A single-instance slot goes by the previous run's status when the slot fires, as the SDK's
/// scheduler reads it: a run that ended after the last poll does not cost its task the slot
/// (the scheduler last saw it running; before, it skipped the slot on that).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_instance_slot_goes_by_the_previous_runs_status_when_it_fires() {
    let (clearml, worker, api) = without_agent().await;
    let mut config = daily_0620("default");
    config["scheduled_tasks"][0]["times"] = json!(["06:20", "06:22", "06:24", "06:26"]);
    config["scheduled_tasks"][0]["single_instance"] = json!(true);
    let id = create(&api, &config).await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let first = clearml.records().clones[0].id.clone();
    set_status(&clearml, &first, "in_progress");
    // The poll of 06:21 sees it running; it completes right after.
    worker.trigger_scheduled(Some(slot + MINUTE)).unwrap();
    set_status(&clearml, &first, "completed");
    worker.trigger_scheduled(Some(slot + 2 * MINUTE)).unwrap();
    let records = clearml.records();
    assert_eq!(records.clones.len(), 2, "06:22 launched: {records:?}");
    assert_eq!(records.enqueues.len(), 2);
    // Still running at 06:24 (read then, not a minute before): that slot is skipped.
    let second = records.clones[1].id.clone();
    set_status(&clearml, &second, "in_progress");
    let lists = clearml.records().count("tasks.get_all");
    worker.trigger_scheduled(Some(slot + 4 * MINUTE)).unwrap();
    assert_eq!(clearml.records().clones.len(), 2);
    assert_eq!(
        clearml.records().count("tasks.get_all") - lists,
        1,
        "the statuses read first are not read again by the tick's own poll"
    );
    let log = log_messages(&dashboard(&api, &id).await);
    assert!(
        log.iter()
            .any(|l| l.contains(&format!("previous Task instance {second} still running"))),
        "{log:?}"
    );
    assert!(
        !log.iter()
            .any(|l| l.contains(&format!("previous Task instance {first} still running"))),
        "{log:?}"
    );
    // ClearML fails at 06:26: the statuses could not be read, said once; the slot goes by the
    // status last seen (running), so it is skipped.
    clearml.set_faults(scheduler_e2e::standin::FaultConfig {
        fail_rate: 1.0,
        ..Default::default()
    });
    worker.trigger_scheduled(Some(slot + 6 * MINUTE)).unwrap();
    clearml.clear_faults();
    assert_eq!(clearml.records().clones.len(), 2);
    let log = log_messages(&dashboard(&api, &id).await);
    let unread = log
        .iter()
        .filter(|l| l.starts_with("Could not read run statuses"))
        .count();
    assert_eq!(unread, 1, "{log:?}");
}

/// A queued run past its limit that an agent starts right before the abort reaches ClearML is
/// stopped by the agent, never reset. The abort read it queued; with `tasks.dequeue`
/// clearml-server forced the running task back to `created` (the agent ran on, ClearML showed a
/// draft, and the scheduler took the run as stopped). `tasks.stop` reads it running and asks
/// its agent to stop it: the run ends "stopped", told as aborted by its limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_an_agent_starts_as_it_is_aborted_is_stopped_by_its_agent_not_reset() {
    // An agent that stops what it is asked to stop, and starts queued tasks only after 10 min.
    let mut config = daily_0620("default");
    config["scheduled_tasks"][0]["execution_limit_hours"] = json!(0.5);
    let (clearml, worker, api, id) = instance_with_agent(600.0, &config).await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let clone = clearml.records().clones[0].id.clone();
    // The abort's call finds the agent has just taken the run (whichever call it makes).
    for call in ["tasks.stop", "tasks.dequeue"] {
        clearml.push_fault(ScriptedFault::new(call, FaultKind::AgentTakesFirst));
    }
    worker.trigger_scheduled(Some(slot + 30 * MINUTE)).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while clearml.task(&clone).unwrap()["status"] == "in_progress"
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let task = clearml.task(&clone).unwrap();
    assert_eq!(
        task["status"], "stopped",
        "the agent stopped the run it had started: {task}"
    );
    worker.trigger_scheduled(Some(slot + 31 * MINUTE)).unwrap();
    let dash = dashboard(&api, &id).await;
    assert_eq!(dash["runs"]["items"][0]["status"], "stopped", "{dash}");
    let log = log_messages(&dash).join("\n");
    assert!(
        log.contains(&format!("Aborting job due to timeout: {clone}")),
        "{log}"
    );
}

/// A ClearML address that answers with a redirect (an `http://` host sent on to `https://`,
/// say) is an error naming the redirect and the fix, and no call follows it: fetch would send
/// a redirected POST again as a GET without its body, which clearml-server reads as `{}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clearml_address_that_redirects_is_named_in_the_log_and_not_followed() {
    use axum::http::{header::LOCATION, StatusCode, Uri};
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector = format!("http://{}", listener.local_addr().unwrap());
    let target = clearml.url();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let to = format!("{target}{}", uri.path());
        async move { (StatusCode::MOVED_PERMANENTLY, [(LOCATION, to)]) }
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let worker = WorkerProcess::start(
        WorkerOptions::admin(TOKEN)
            .var("CLEARML_API_HOST", &redirector)
            .var("CLEARML_API_ACCESS_KEY", clearml.access_key())
            .var("CLEARML_API_SECRET_KEY", clearml.secret_key())
            .var("CLEARML_TIMEOUT_SECONDS", "2"),
    )
    .unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let id = create(&api, &daily_0620("default")).await;
    worker.trigger_scheduled(Some(slot_0620())).unwrap();
    let calls = clearml.records().calls.len();
    assert_eq!(calls, 0, "no call reached ClearML through the redirect");
    let dash = dashboard(&api, &id).await;
    let log = log_messages(&dash).join("\n");
    assert!(
        log.contains(&format!(
            "ClearML's address {redirector} answers with a redirect to {}/auth.login; set CLEARML_API_HOST",
            clearml.url()
        )),
        "{log}"
    );
    assert_eq!(dash["runs"]["total"].as_u64(), Some(0), "{dash}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_now_launches_once_on_the_next_tick_and_a_deleted_instance_leaves_nothing() {
    let (clearml, worker, api) = without_agent().await;
    let id = create(&api, &daily_0620("default")).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    worker.trigger_scheduled(Some(now)).unwrap();
    assert_eq!(clearml.records().clones.len(), 0);
    api.post(
        &format!("/api/instances/{id}/tasks/retrain/run"),
        &json!({}),
    )
    .await
    .unwrap();
    worker.trigger_scheduled(Some(now + MINUTE)).unwrap();
    worker.trigger_scheduled(Some(now + 2 * MINUTE)).unwrap();
    let records = clearml.records();
    assert_eq!(
        records.clones.len(),
        1,
        "run now made one clone: {:?}",
        records.clones
    );
    assert_eq!(records.enqueues.len(), 1);
    let dash = dashboard(&api, &id).await;
    assert_eq!(dash["runs"]["total"].as_u64(), Some(1), "{dash}");
    assert!(
        log_messages(&dash)
            .iter()
            .any(|l| l.contains("Run now requested")),
        "{dash}"
    );

    assert_eq!(delete_instance(&api, &id).await, 204);
    worker.trigger_scheduled(Some(now + 3 * MINUTE)).unwrap();
    let last = worker.tick_lines().pop().unwrap();
    assert!(
        last.contains("instances=0") && last.contains("ticked=0"),
        "nothing left to tick: {last}"
    );
    for path in [
        format!("/api/instances/{id}"),
        format!("/api/instances/{id}/dashboard"),
    ] {
        let (status, _) = api.send(reqwest::Method::GET, &path, None).await.unwrap();
        assert_eq!(status, 404, "{path} after the delete");
    }
    let list = api.get("/api/instances").await.unwrap();
    assert_eq!(
        list["instances"].as_array().map(Vec::len),
        Some(0),
        "{list}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_past_what_one_invocation_ticks_go_through_the_queue() {
    let (clearml, worker) = standin_and_worker(&[("DIRECT_TICKS", "1")]).await;
    let api = Api::new(&worker.url, TOKEN);
    for _ in 0..5 {
        create(&api, &daily_0620("default")).await;
    }
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot - MINUTE)).unwrap();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let lines = worker.tick_lines();
    assert!(
        lines[1].contains("ticked=1") && lines[1].contains("queued=4"),
        "{}",
        lines[1]
    );
    // The queue's consumer ticks the other four, each in its own object.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while clearml.records().enqueues.len() < 5 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let records = clearml.records();
    assert_eq!(records.clones.len(), 5, "{:?}", records.clones);
    assert_eq!(records.enqueues.len(), 5, "each due slot enqueued once");
    assert!(
        worker.log_text().contains("queued tick"),
        "the consumer logs what it did"
    );
    // The next ticks only poll the runs out (queued: this stand-in has no agent).
    worker.trigger_scheduled(Some(slot + MINUTE)).unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(clearml.records().clones.len(), 5);
    assert_eq!(clearml.records().enqueues.len(), 5);
}

/// The scheduler is behind (no tick since the instance was made: the cron stopped, say) when
/// the user edits a task's schedule: the old schedule's slots no tick decided are not launched
/// (the task restarts from the edit) and are told as missed, once, not dropped in silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_an_edit_drops_while_the_scheduler_is_behind_are_told_as_missed() {
    let (clearml, worker, api) = without_agent().await;
    let mut config = daily_0620("default");
    config["scheduled_tasks"][0]["recurrence"] = json!("cron");
    config["scheduled_tasks"][0]["cron"] = json!("* * * * *");
    config["scheduled_tasks"][0]
        .as_object_mut()
        .unwrap()
        .remove("times");
    let made = now_ms();
    let id = create(&api, &config).await;
    // No tick for two minutes (real time: saves are stamped with the worker's clock): at least
    // one every-minute slot is due and undecided when the edit comes.
    let edit_at = (made / MINUTE + 2) * MINUTE + 1_000;
    tokio::time::sleep(std::time::Duration::from_millis(
        (edit_at - now_ms()) as u64,
    ))
    .await;
    config["scheduled_tasks"][0]["cron"] = json!("0 3 * * *");
    api.replace(&id, &config).await.unwrap();
    worker.trigger_scheduled(Some(now_ms())).unwrap();
    worker.trigger_scheduled(Some(now_ms() + MINUTE)).unwrap();

    assert!(
        clearml.records().clones.is_empty(),
        "the old slots are not launched"
    );
    let told: Vec<String> = log_messages(&dashboard(&api, &id).await)
        .into_iter()
        .filter(|m| m.starts_with("Missed "))
        .collect();
    assert_eq!(told.len(), 1, "told once: {told:?}");
    let first_slot = dash_time((made / MINUTE + 1) * MINUTE);
    assert!(
        told[0].contains(&format!(": {first_slot}")),
        "names the first slot dropped: {told:?}"
    );
    assert!(told[0].contains("the task was edited"), "{told:?}");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_instance_launches_nothing_but_its_running_clone_is_still_followed() {
    let (clearml, worker, api, id) = daily_instance_with_agent().await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    assert_eq!(clearml.records().clones.len(), 1);

    api.post(&format!("/api/instances/{id}/pause"), &json!({}))
        .await
        .unwrap();
    // Paused: the clone out there is still polled until it ends.
    let run = tick_until_completed(&worker, &api, &id, slot).await;
    assert!(run["finished"].is_string(), "{run}");

    // The next day's slot comes while paused: no clone.
    worker.trigger_scheduled(Some(slot + 86_400_000)).unwrap();
    assert_eq!(
        clearml.records().clones.len(),
        1,
        "paused: nothing launched"
    );
    let dash = dashboard(&api, &id).await;
    assert_eq!(dash["runs"]["items"].as_array().unwrap().len(), 1, "{dash}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_given_up_leaves_no_clone_behind() {
    // No catching up: a failed launch is retried for a few minutes only; a tick past them gives
    // the slot up.
    let (clearml, worker, api, id) = daily_instance_with("catch_up", json!("skip")).await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot - MINUTE)).unwrap();
    // Cloned, then the enqueue fails: the clone waits for a retry that never comes.
    clearml.push_fault(ScriptedFault::new("tasks.enqueue", FaultKind::Http500));
    worker.trigger_scheduled(Some(slot)).unwrap();
    assert_eq!(clearml.records().clones.len(), 1);
    assert_eq!(clearml.records().enqueues.len(), 0);
    worker.trigger_scheduled(Some(slot + PAST_RETRIES)).unwrap();
    let records = clearml.records();
    assert_eq!(records.enqueues.len(), 0, "given up, not launched late");
    assert_eq!(
        records
            .deletes
            .iter()
            .map(|d| d.task.as_str())
            .collect::<Vec<_>>(),
        vec![records.clones[0].id.as_str()],
        "the clone it left is deleted"
    );
    let log = log_messages(&dashboard(&api, &id).await).join("\n");
    assert!(log.contains("Giving up"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_ticks_that_keep_failing_are_retried_then_dead_lettered_and_logged() {
    let (clearml, worker) = standin_and_worker(&[
        ("DIRECT_TICKS", "0"),
        ("FAIL_QUEUED_TICKS", "1"),
        ("QUEUE_RETRY_DELAY_SECONDS", "0"),
    ])
    .await;
    let api = Api::new(&worker.url, TOKEN);
    let id = create(&api, &daily_0620("default")).await;
    worker.trigger_scheduled(Some(slot_0620())).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !worker.log_text().contains("dead letter:") && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let log = worker.log_text();
    let failures = log.matches("failed (injected)").count();
    assert!(
        failures >= 4,
        "the first delivery and 3 retries: {failures}"
    );
    let dead = log
        .lines()
        .find(|l| l.contains("dead letter:"))
        .unwrap_or_else(|| panic!("no dead letter logged"));
    assert!(
        dead.contains(&id),
        "the dead letter names the instance: {dead}"
    );
    assert_eq!(clearml.records().clones.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launches_past_one_invocations_call_budget_go_on_in_the_objects_alarm() {
    // A budget of 10 calls pays for two launches (a sign-in, lookups, 3 calls each).
    let (clearml, worker) = standin_and_worker(&[("SUBREQUEST_BUDGET", "10")]).await;
    let api = Api::new(&worker.url, TOKEN);
    let tasks: Vec<Value> = (0..6)
        .map(|i| {
            json!({"id": format!("job-{i}"), "base_task_id": demo::TASK_TRAIN, "queue": "default",
                   "recurrence": "daily", "times": ["06:20"]})
        })
        .collect();
    create(
        &api,
        &json!({"format": "clearml-task-scheduler/v1", "name": "Budget", "scheduled_tasks": tasks}),
    )
    .await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot - MINUTE)).unwrap();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let line = worker.tick_lines().pop().unwrap();
    assert!(line.contains("left="), "{line}");
    assert!(
        !line.contains("left=0"),
        "the budget left launches over: {line}"
    );
    // No further tick: the object's alarm launches the rest, each in an invocation of its own.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while clearml.records().enqueues.len() < 6 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let records = clearml.records();
    assert_eq!(records.enqueues.len(), 6, "{:?}", records.enqueues);
    assert_eq!(records.clones.len(), 6, "each slot cloned once");
    assert!(worker.log_text().contains("alarm: launched="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_no_agent_takes_is_reported_as_stuck_in_its_queue_once() {
    // No agent: the clone stays queued. ClearML lists one worker on the queue (a busy or stuck
    // agent), and the log says so.
    let (clearml, worker, api, id) = daily_instance_with("queue", json!("default")).await;
    clearml.with_state(|s| {
        let default = s
            .queues
            .iter()
            .find(|q| q.name == "default")
            .unwrap()
            .id
            .clone();
        let other = s
            .queues
            .iter()
            .find(|q| q.name != "default")
            .unwrap()
            .id
            .clone();
        s.workers.push(standin::model::Worker {
            id: "busy-agent".into(),
            queues: vec![default],
        });
        s.workers.push(standin::model::Worker {
            id: "elsewhere".into(),
            queues: vec![other],
        });
    });
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let stuck = |d: &Value| -> Vec<String> {
        d["log"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l["message"].as_str())
            .filter(|m| m.contains("still queued"))
            .map(str::to_string)
            .collect()
    };
    worker.trigger_scheduled(Some(slot + 29 * MINUTE)).unwrap();
    assert!(stuck(&dashboard(&api, &id).await).is_empty(), "not yet");
    // Three deliveries of the 30th minute at once, then the next minute: said once, counted
    // from the stored log.
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| worker.trigger_scheduled(Some(slot + 30 * MINUTE)).unwrap());
        }
    });
    worker.trigger_scheduled(Some(slot + 31 * MINUTE)).unwrap();
    let d = dashboard(&api, &id).await;
    let said = stuck(&d);
    assert_eq!(said.len(), 1, "said once: {said:?}");
    assert!(
        said[0].contains("after 30 minutes")
            && said[0].contains("queue \"default\", which ClearML lists 1 worker(s) listening to"),
        "{}",
        said[0]
    );
    assert_eq!(
        clearml.records().count("workers.get_all"),
        1,
        "ClearML is asked once, when the run is found stuck"
    );
    let line = d["log"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.contains("still queued"))
        })
        .unwrap();
    assert_eq!(line["level"], "warn", "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_rerun_after_its_backoff_each_rerun_once_under_faults() {
    let (clearml, worker, api, id) =
        daily_instance_with("retry", json!({"max": 2, "backoff_minutes": 1})).await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let first = clearml.records().enqueues[0].task.clone();
    let set = |task: &str, status: &str, reason: &str| {
        clearml.with_state(|s| {
            let t = s.task_mut(task).unwrap();
            t.doc.insert("status".into(), json!(status));
            t.doc.insert("status_reason".into(), json!(reason));
        })
    };

    // The run fails: rerun 1 is due a minute after the tick that saw it.
    set(&first, "failed", "");
    worker.trigger_scheduled(Some(slot + MINUTE)).unwrap();
    assert_eq!(
        clearml.records().enqueues.len(),
        1,
        "not before its backoff"
    );
    // Its minute delivered three times at once, and ClearML's answer to its clone lost.
    clearml.push_fault(ScriptedFault::new("tasks.clone", FaultKind::DropAfterClone));
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| worker.trigger_scheduled(Some(slot + 2 * MINUTE)).unwrap());
        }
    });
    worker.trigger_scheduled(Some(slot + 3 * MINUTE)).unwrap();
    let second = {
        let r = clearml.records();
        assert_eq!(
            r.enqueues.len(),
            2,
            "rerun 1 enqueued once: {:?}",
            r.enqueues
        );
        r.enqueues[1].task.clone()
    };

    // ClearML stops the rerun because its agent stopped answering: rerun 2.
    set(&second, "stopped", "Forced stop (non-responsive)");
    worker.trigger_scheduled(Some(slot + 4 * MINUTE)).unwrap();
    worker.trigger_scheduled(Some(slot + 5 * MINUTE)).unwrap();
    worker.trigger_scheduled(Some(slot + 5 * MINUTE)).unwrap();
    let third = {
        let r = clearml.records();
        assert_eq!(r.enqueues.len(), 3, "{:?}", r.enqueues);
        r.enqueues[2].task.clone()
    };
    // It fails too: that was the last rerun `max: 2` allows.
    set(&third, "failed", "");
    for m in 6..=9 {
        worker.trigger_scheduled(Some(slot + m * MINUTE)).unwrap();
    }

    let r = clearml.records();
    assert_eq!(r.enqueues.len(), 3, "no third rerun");
    // Counted from the stand-in: one enqueued clone per tag, each rerun's tag its own.
    let tag_of = |task: &str| -> String {
        r.clones
            .iter()
            .find(|c| c.id == task)
            .and_then(|c| {
                c.system_tags
                    .iter()
                    .find(|t| t.starts_with("sched-v1:"))
                    .cloned()
            })
            .unwrap()
    };
    let tags: Vec<String> = [&first, &second, &third]
        .iter()
        .map(|t| tag_of(t))
        .collect();
    assert!(
        tags[1].ends_with("r1") && tags[2].ends_with("r2"),
        "{tags:?}"
    );
    assert_eq!(tags[1].trim_end_matches("r1"), tags[0]);
    let deleted: Vec<&String> = r.deletes.iter().map(|d| &d.task).collect();
    for tag in &tags {
        let live: Vec<&String> = r
            .clones
            .iter()
            .filter(|c| c.system_tags.contains(tag) && !deleted.contains(&&c.id))
            .map(|c| &c.id)
            .collect();
        assert_eq!(live.len(), 1, "{tag}: {live:?}");
    }
    let d = dashboard(&api, &id).await;
    let reruns: Vec<u64> = d["runs"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rerun"].as_u64().unwrap())
        .collect();
    assert_eq!(reruns, [2, 1, 0], "newest first, as attempts of one slot");
    let log = log_messages(&d).join("\n");
    assert!(log.contains("rerun 1 of 2"), "{log}");
    assert!(
        log.contains("stopped by ClearML (its agent stopped answering); rerun 2 of 2"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skip_slot_given_up_after_a_lost_clone_answer_leaves_no_clone() {
    let (clearml, worker, _api, _id) = daily_instance_with("catch_up", json!("skip")).await;
    let slot = slot_0620();
    clearml.push_fault(ScriptedFault::new("tasks.clone", FaultKind::DropAfterClone));
    worker.trigger_scheduled(Some(slot)).unwrap();
    worker.trigger_scheduled(Some(slot + PAST_RETRIES)).unwrap();
    worker
        .trigger_scheduled(Some(slot + PAST_RETRIES + MINUTE))
        .unwrap();
    let r = clearml.records();
    assert_eq!(r.clones.len(), 1);
    assert_eq!(r.enqueues.len(), 0);
    assert_eq!(
        r.deletes.len(),
        1,
        "{:?}\n{}",
        r.calls
            .iter()
            .map(|c| format!("{} {:?}", c.endpoint, c.task))
            .collect::<Vec<_>>(),
        worker.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_up_whose_delete_fails_is_asked_again_until_the_clone_is_gone() {
    let (clearml, worker, api, id) = daily_instance_with("catch_up", json!("skip")).await;
    let slot = slot_0620();
    clearml.push_fault(ScriptedFault::new("tasks.clone", FaultKind::DropAfterClone));
    clearml.push_fault(ScriptedFault::new("tasks.delete", FaultKind::Http500));
    for t in past_retries(slot) {
        worker.trigger_scheduled(Some(t)).unwrap();
    }
    let r = clearml.records();
    let calls = || {
        r.calls
            .iter()
            .map(|c| format!("{} {:?}", c.endpoint, c.task))
            .collect::<Vec<_>>()
    };
    assert_eq!(r.clones.len(), 1);
    assert_eq!(r.enqueues.len(), 0);
    let delete_calls = r
        .calls
        .iter()
        .filter(|c| c.endpoint == "tasks.delete")
        .count();
    assert_eq!(delete_calls, 2, "refused once, asked again: {:?}", calls());
    assert_eq!(r.deletes.len(), 1, "{:?}\n{}", calls(), worker.log_text());
    let log = log_messages(&dashboard(&api, &id).await);
    let told: Vec<&String> = log
        .iter()
        .filter(|m| m.contains("nothing of it is enqueued"))
        .collect();
    assert_eq!(
        told.len(),
        1,
        "told once, after the clone is gone: {log:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_ticks_finish_a_failed_clean_up_once_and_tell_it_once() {
    let (clearml, worker, api, id) = daily_instance_with("catch_up", json!("skip")).await;
    let slot = slot_0620();
    clearml.push_fault(ScriptedFault::new("tasks.clone", FaultKind::DropAfterClone));
    clearml.push_fault(ScriptedFault::new("tasks.delete", FaultKind::Http500));
    // Every minute delivered three times at the same moment.
    for t in past_retries(slot) {
        worker.trigger_scheduled_at_once(t, 3);
    }
    let r = clearml.records();
    assert_eq!(r.clones.len(), 1, "one slot, one clone");
    assert_eq!(r.enqueues.len(), 0);
    let deleted: Vec<&str> = r.deletes.iter().map(|d| d.task.as_str()).collect();
    assert_eq!(deleted, [r.clones[0].id.as_str()], "the clone is gone");
    let log = log_messages(&dashboard(&api, &id).await);
    let told = log
        .iter()
        .filter(|m| m.contains("nothing of it is enqueued"))
        .count();
    assert_eq!(told, 1, "told once: {log:#?}");
}

/// Starts the 06:20 tick with `tasks.clone` answering after 1.5 s, runs `meanwhile` while the
/// launch awaits it, and waits for the tick.
async fn during_a_slow_clone<F: std::future::Future<Output = ()>>(
    clearml: &StandinHandle,
    worker: &std::sync::Arc<WorkerProcess>,
    meanwhile: F,
) {
    clearml.push_fault(ScriptedFault {
        delay_ms: Some(1500),
        ..ScriptedFault::new("tasks.clone", FaultKind::Delay)
    });
    let tick = {
        let worker = worker.clone();
        tokio::task::spawn_blocking(move || worker.trigger_scheduled(Some(slot_0620())))
    };
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    meanwhile.await;
    tick.await.unwrap().unwrap();
}

/// Pauses instance `id` while the first launch of a tick at the slot awaits its clone.
async fn pause_during_a_slow_clone(
    clearml: &StandinHandle,
    worker: &std::sync::Arc<WorkerProcess>,
    api: &Api,
    id: &str,
) {
    during_a_slow_clone(clearml, worker, async {
        api.post(&format!("/api/instances/{id}/pause"), &json!({}))
            .await
            .unwrap();
    })
    .await;
}

/// A daily 06:20 instance whose worker a blocking tick can share.
async fn shared_daily_instance() -> (StandinHandle, std::sync::Arc<WorkerProcess>, Api, String) {
    let (clearml, worker, api, id) = daily_instance_with("enabled", json!(true)).await;
    (clearml, std::sync::Arc::new(worker), api, id)
}

/// Paused while its launch awaited ClearML: the clone is not enqueued (the pause was answered
/// first); once resumed, the retry enqueues that same clone, within the catch-up window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_out_when_the_instance_is_paused_is_not_enqueued_until_the_resume() {
    let (clearml, worker, api, id) = shared_daily_instance().await;
    pause_during_a_slow_clone(&clearml, &worker, &api, &id).await;
    assert_eq!(clearml.records().clones.len(), 1);
    assert_eq!(clearml.records().enqueues.len(), 0, "paused: not enqueued");
    let log = log_messages(&dashboard(&api, &id).await).join("\n");
    assert!(log.contains("the instance was paused"), "{log}");
    // Paused ticks launch nothing.
    worker
        .trigger_scheduled(Some(slot_0620() + 2 * MINUTE))
        .unwrap();
    assert_eq!(clearml.records().enqueues.len(), 0);
    api.post(&format!("/api/instances/{id}/resume"), &json!({}))
        .await
        .unwrap();
    for m in 3..8 {
        worker
            .trigger_scheduled(Some(slot_0620() + m * MINUTE))
            .unwrap();
    }
    let records = clearml.records();
    assert_eq!(records.clones.len(), 1, "the retry took the clone it found");
    assert_eq!(records.enqueues.len(), 1);
    assert_eq!(records.enqueues[0].task, records.clones[0].id);
}

/// Paused while the first of two launches awaited ClearML, before the second was claimed: the
/// second waits for a tick after the resume (which plans it again, within its window), not for
/// the object's alarm, which found it paused and woke itself again every 10 ms for as long as
/// the pause lasted, then launched it at the resume with no tick at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_not_yet_claimed_when_paused_waits_for_a_tick_after_the_resume() {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let worker = std::sync::Arc::new(worker_for(&clearml, None));
    let api = Api::new(&worker.url, TOKEN);
    let mut config = daily_0620("default");
    let mut second = config["scheduled_tasks"][0].clone();
    second["id"] = json!("evaluate");
    config["scheduled_tasks"]
        .as_array_mut()
        .unwrap()
        .push(second);
    let id = create(&api, &config).await;
    // The first launch of a cold cache runs alone; the second is claimed after it.
    pause_during_a_slow_clone(&clearml, &worker, &api, &id).await;
    assert_eq!(clearml.records().clones.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    api.post(&format!("/api/instances/{id}/resume"), &json!({}))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(clearml.records().clones.len(), 1, "nothing without a tick");
    assert_eq!(clearml.records().enqueues.len(), 0);
    // The next tick, within the window: both launch, the first with the clone it made.
    worker
        .trigger_scheduled(Some(slot_0620() + 3 * MINUTE))
        .unwrap();
    let records = clearml.records();
    assert_eq!(records.clones.len(), 2, "{:?}", records.clones);
    assert_eq!(records.enqueues.len(), 2);
}

/// Deleted while its launch awaited ClearML: nothing is enqueued, and the clone is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_out_when_the_instance_is_deleted_enqueues_nothing_and_leaves_no_clone() {
    let (clearml, worker, api, id) = shared_daily_instance().await;
    during_a_slow_clone(&clearml, &worker, async {
        let (status, _) = api
            .send(
                reqwest::Method::DELETE,
                &format!("/api/instances/{id}"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(status, 204);
    })
    .await;
    let records = clearml.records();
    assert_eq!(records.clones.len(), 1);
    assert_eq!(records.enqueues.len(), 0, "deleted: not enqueued");
    assert_eq!(records.deletes.len(), 1, "{:?}", records.deletes);
    assert_eq!(records.deletes[0].task, records.clones[0].id);
}

/// A run deleted in ClearML has ended: it is shown as stopped and no longer polled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_deleted_in_clearml_ends_and_is_no_longer_polled() {
    let (clearml, worker, api, id) = daily_instance_with("catch_up", json!("skip")).await;
    worker.trigger_scheduled(Some(slot_0620())).unwrap();
    let clone = clearml.records().clones[0].id.clone();
    clearml.with_state(|s| s.tasks.retain(|t| t.doc["id"] != clone.as_str()));
    worker
        .trigger_scheduled(Some(slot_0620() + MINUTE))
        .unwrap();
    let dash = dashboard(&api, &id).await;
    assert_eq!(dash["runs"]["items"][0]["status"], "stopped", "{dash}");
    assert!(dash["runs"]["items"][0]["finished"].is_string(), "{dash}");
    worker
        .trigger_scheduled(Some(slot_0620() + 2 * MINUTE))
        .unwrap();
    let after = worker.tick_lines().pop().unwrap();
    assert!(
        after.contains("ticked=0") && after.contains("subrequests=0"),
        "nothing left to poll: {after}"
    );
}

/// The session expires again and again, and the sign-ins leave too few calls for the enqueue: the launch is handed on to the object's alarm (no further
/// tick), not counted as failed, so even under `catch_up: skip` it launches once, on time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_short_of_calls_mid_way_goes_on_in_the_alarm_not_as_a_failure() {
    // 10 calls: a sign-in, the lookups, the clone, its check and the enqueue, and a little more.
    let (clearml, worker) = standin_and_worker(&[("SUBREQUEST_BUDGET", "10")]).await;
    let api = Api::new(&worker.url, TOKEN);
    let mut config = daily_0620("default");
    config["scheduled_tasks"][0]["catch_up"] = json!("skip");
    let id = create(&api, &config).await;
    // Each of these calls is answered 401 first: a sign-in and the call again, two calls more.
    for endpoint in ["tasks.clone", "tasks.get_all", "tasks.enqueue"] {
        clearml.push_fault(ScriptedFault::new(endpoint, FaultKind::ExpireTokens));
    }
    worker.trigger_scheduled(Some(slot_0620())).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while clearml.records().enqueues.is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let records = clearml.records();
    let log = log_messages(&dashboard(&api, &id).await).join("\n");
    let calls: Vec<&str> = records.calls.iter().map(|c| c.endpoint.as_str()).collect();
    assert_eq!(
        records.enqueues.len(),
        1,
        "{log}\n{calls:?}\n{}",
        worker.log_text()
    );
    assert_eq!(records.clones.len(), 1, "cloned once");
    assert!(!log.contains("failed"), "{log}");
}

/// Saves the instance with its task replaced by another (`evaluate`, 23:00): `retrain` is removed.
async fn remove_the_task(api: &Api, id: &str) {
    let mut other = daily_0620("default");
    other["scheduled_tasks"][0]["id"] = json!("evaluate");
    other["scheduled_tasks"][0]["times"] = json!(["23:00"]);
    api.replace(id, &other).await.unwrap();
}

/// The 06:20 launch of a daily instance whose enqueue failed (a 500): its clone is kept for the
/// retry. Returns the clone's id last.
async fn a_clone_kept_for_a_retry() -> (StandinHandle, WorkerProcess, Api, String, String) {
    let (clearml, worker, api, id) = daily_instance_with("enabled", json!(true)).await;
    clearml.push_fault(ScriptedFault::new("tasks.enqueue", FaultKind::Http500));
    worker.trigger_scheduled(Some(slot_0620())).unwrap();
    let r = clearml.records();
    assert_eq!(
        (r.clones.len(), r.enqueues.len()),
        (1, 0),
        "kept for a retry"
    );
    let kept = r.clones[0].id.clone();
    (clearml, worker, api, id, kept)
}

/// A launch whose enqueue failed keeps its clone for the retry. The task removed from the
/// configuration before that retry, the clone is deleted (nothing is left behind un-enqueued)
/// and the log says why; the channels are not told (the task was removed on purpose).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_kept_for_a_retry_is_deleted_when_its_task_is_removed() {
    let (clearml, worker, api, id, kept) = a_clone_kept_for_a_retry().await;
    remove_the_task(&api, &id).await;
    // Every minute delivered three times at the same moment: one clean-up, told once.
    for m in 1..4 {
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    worker
                        .trigger_scheduled(Some(slot_0620() + m * MINUTE))
                        .unwrap()
                });
            }
        });
    }
    let r = clearml.records();
    assert_eq!(r.enqueues.len(), 0, "the removed task is not launched");
    let deleted: Vec<&str> = r.deletes.iter().map(|d| d.task.as_str()).collect();
    assert_eq!(deleted, [kept.as_str()], "the kept clone is deleted, once");
    let dash = dashboard(&api, &id).await;
    let told = log_messages(&dash)
        .iter()
        .filter(|l| l.contains("its task was removed from the configuration while its launch was under way; nothing of it is left in ClearML"))
        .count();
    assert_eq!(told, 1, "{dash}");
}

/// An answer whose body stalls after its head (a server or proxy under load) is cut off at the
/// call's timeout like one that never came: the call must not outlive its launch's lease. The
/// enqueue was made; the next tick's retry finds the clone queued and records the run, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_stalls_after_its_head_times_out_and_the_retry_finds_the_run() {
    let (clearml, worker, api, id) = daily_instance_with("catch_up", json!("skip")).await;
    clearml.push_fault(ScriptedFault {
        delay_ms: Some(8000),
        ..ScriptedFault::new("tasks.enqueue", FaultKind::StalledBody)
    });
    worker.trigger_scheduled(Some(slot_0620())).unwrap();
    let dash = dashboard(&api, &id).await;
    let log = log_messages(&dash).join("\n");
    assert!(
        log.contains("tasks.enqueue failed: no answer within 2s"),
        "the stalled answer timed out: {log}"
    );
    worker
        .trigger_scheduled(Some(slot_0620() + MINUTE))
        .unwrap();
    let r = clearml.records();
    assert_eq!((r.clones.len(), r.enqueues.len()), (1, 1), "launched once");
    let dash = dashboard(&api, &id).await;
    assert_eq!(dash["runs"]["total"], 1, "{dash}");
    assert_eq!(dash["runs"]["items"][0]["task_id"], r.clones[0].id.as_str());
}

/// The enqueue's answer is lost after ClearML enqueued the clone, and the run has finished by
/// the time the retry finds it: the retry records the run, and the next status poll ends it as
/// every run ends, with its finish time and its "completed" line, never a negative duration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_ended_before_its_retry_found_it_is_ended_by_the_poll() {
    let (clearml, worker, api, id) = daily_instance_with_agent().await;
    clearml.push_fault(ScriptedFault::new(
        "tasks.enqueue",
        FaultKind::DropConnection,
    ));
    worker.trigger_scheduled(Some(slot_0620())).unwrap();
    let r = clearml.records();
    assert_eq!(
        r.enqueues.len(),
        1,
        "ClearML enqueued it; its answer was lost"
    );
    let task = r.enqueues[0].task.clone();
    // The stand-in's agent runs it to the end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let t = clearml.task(&task).expect("the clone is in the stand-in");
        if t["status"] == "completed" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the agent ran it: {t}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    for m in 1..4 {
        worker
            .trigger_scheduled(Some(slot_0620() + m * MINUTE))
            .unwrap();
    }
    let r = clearml.records();
    assert_eq!((r.clones.len(), r.enqueues.len()), (1, 1), "launched once");
    let dash = dashboard(&api, &id).await;
    assert_eq!(dash["runs"]["total"], 1, "{dash}");
    let run = &dash["runs"]["items"][0];
    assert_eq!(run["task_id"], task.as_str());
    assert_eq!(run["status"], "completed", "{run}");
    assert!(run["finished"].is_string(), "{run}");
    assert!(
        run["duration_seconds"].as_i64().is_some_and(|d| d >= 0),
        "{run}"
    );
    let log = log_messages(&dash).join("\n");
    assert!(
        log.contains(&format!("Run {task} of {} completed", demo::TASK_TRAIN)),
        "{log}"
    );
}

/// A launch whose enqueue failed keeps its clone for the retry; the instance deleted before that
/// retry, the deletion deletes the clone first: nothing is left behind in ClearML.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_instance_deletes_the_clone_its_retry_would_have_taken() {
    let (clearml, worker, api, id, kept) = a_clone_kept_for_a_retry().await;
    assert_eq!(delete_instance(&api, &id).await, 204);
    let r = clearml.records();
    let deleted: Vec<&str> = r.deletes.iter().map(|d| d.task.as_str()).collect();
    assert_eq!(deleted, [kept.as_str()], "the kept clone is deleted");
    worker
        .trigger_scheduled(Some(slot_0620() + MINUTE))
        .unwrap();
    assert_eq!(clearml.records().enqueues.len(), 0, "and never enqueued");
}

/// The same deletion at the same moment as the tick whose retry takes that clone: whichever
/// wins, the slot's one clone is either enqueued once (and not deleted) or deleted (and never
/// enqueued): never both, never left behind un-enqueued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_racing_the_retry_leaves_the_clone_enqueued_once_or_deleted() {
    let (clearml, worker, api, id, kept) = a_clone_kept_for_a_retry().await;
    let status = tokio::task::block_in_place(|| {
        std::thread::scope(|s| {
            let tick = s.spawn(|| worker.trigger_scheduled(Some(slot_0620() + MINUTE)));
            let status = tokio::runtime::Handle::current().block_on(delete_instance(&api, &id));
            let _ = tick.join().unwrap();
            status
        })
    });
    assert_eq!(status, 204);
    worker
        .trigger_scheduled(Some(slot_0620() + 2 * MINUTE))
        .unwrap();
    let r = clearml.records();
    assert_eq!(r.clones.len(), 1, "one clone");
    let enqueued: Vec<&str> = r.enqueues.iter().map(|e| e.task.as_str()).collect();
    let deleted: Vec<&str> = r.deletes.iter().map(|d| d.task.as_str()).collect();
    assert!(
        (enqueued == [kept.as_str()] && deleted.is_empty())
            || (enqueued.is_empty() && deleted == [kept.as_str()]),
        "enqueued {enqueued:?}, deleted {deleted:?}"
    );
}

/// `DELETE /api/instances/{id}`: its status.
/// A DELETE cut short (the worker killed while its clean-up waits on ClearML) leaves the
/// instance paused, shown paused in the list, launching nothing and refusing every change but
/// another DELETE, which finishes it. Before, the list showed it active with a next run, and a
/// Resume left it "being deleted" for good: every later launch was abandoned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_cut_short_leaves_the_instance_paused_until_deleted_again() {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let state = scheduler_e2e::harness::TempDir::new("cut-short-delete").unwrap();
    let mut worker = worker_for(&clearml, Some(state.path.clone()));
    let api = Api::new(&worker.url, TOKEN);
    let id = create(&api, &daily_0620("default")).await;
    clearml.push_fault(ScriptedFault::new("tasks.enqueue", FaultKind::Http500));
    worker.trigger_scheduled(Some(slot_0620())).unwrap();
    let kept = clearml.records().clones[0].id.clone();
    // The clean-up's delete of the clone kept for the retry hangs; the worker dies meanwhile.
    clearml.push_fault(ScriptedFault {
        delay_ms: Some(4000),
        ..ScriptedFault::new("tasks.delete", FaultKind::Delay)
    });
    let deletion = {
        let (api, id) = (Api::new(&worker.url, TOKEN), id.clone());
        tokio::spawn(async move { delete_instance(&api, &id).await })
    };
    // Marked and shown paused in the list, then killed while the clean-up waits on ClearML.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let list = api.get("/api/instances").await.unwrap();
        if list["instances"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id.as_str() && i["paused"] == true)
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never marked: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    worker.stop();
    let _ = deletion.await;
    let worker = worker_for(&clearml, Some(state.path.clone()));
    let api = Api::new(&worker.url, TOKEN);
    let list = api.get("/api/instances").await.unwrap();
    let listed = list["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed["paused"], true, "{list}");
    assert_eq!(listed["next_run"], Value::Null, "{list}");
    for (method, path, body) in [
        (
            reqwest::Method::POST,
            format!("/api/instances/{id}/resume"),
            Some(json!({})),
        ),
        (
            reqwest::Method::PUT,
            format!("/api/instances/{id}"),
            Some(daily_0620("default")),
        ),
    ] {
        let (status, answer) = api.send(method, &path, body.as_ref()).await.unwrap();
        assert_eq!(status, 409, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "being_deleted", "{answer}");
    }
    worker
        .trigger_scheduled(Some(slot_0620() + 2 * MINUTE))
        .unwrap();
    assert_eq!(
        clearml.records().enqueues.len(),
        0,
        "paused: nothing launched"
    );
    assert_eq!(delete_instance(&api, &id).await, 204);
    let (status, _) = api
        .send(reqwest::Method::GET, &format!("/api/instances/{id}"), None)
        .await
        .unwrap();
    assert_eq!(status, 404);
    let deleted: Vec<String> = clearml
        .records()
        .deletes
        .iter()
        .map(|d| d.task.clone())
        .collect();
    assert!(deleted.contains(&kept), "{deleted:?}");
}

async fn delete_instance(api: &Api, id: &str) -> u16 {
    api.send(
        reqwest::Method::DELETE,
        &format!("/api/instances/{id}"),
        None,
    )
    .await
    .unwrap()
    .0
}

/// Under `catch_up: skip` a launch that failed for a reason that may pass (a 500 on the enqueue)
/// is still retried a minute later, with the clone it made: one 503 does not lose the slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skip_slot_whose_enqueue_failed_once_is_retried_and_launched_once() {
    let (clearml, worker, api, id) = daily_instance_with("catch_up", json!("skip")).await;
    clearml.push_fault(ScriptedFault::new("tasks.enqueue", FaultKind::Http500));
    worker.trigger_scheduled(Some(slot_0620())).unwrap();
    worker
        .trigger_scheduled(Some(slot_0620() + MINUTE))
        .unwrap();
    let r = clearml.records();
    assert_eq!((r.clones.len(), r.enqueues.len()), (1, 1), "launched once");
    assert_eq!(r.enqueues[0].task, r.clones[0].id, "with the clone it made");
    assert_eq!(dashboard(&api, &id).await["runs"]["total"], 1);
}

/// The task removed while its launch is out, and a tick running meanwhile: that tick leaves
/// the launch to its owner until the claim's lease has run (no clean-up under a live attempt's
/// feet). The attempt's enqueue then fails, and its clone is deleted once the lease is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_task_s_launch_still_out_is_cleaned_up_only_after_its_lease() {
    let (clearml, worker, api, id) = shared_daily_instance().await;
    clearml.push_fault(ScriptedFault::new("tasks.enqueue", FaultKind::Http500));
    let started = std::time::Instant::now();
    during_a_slow_clone(&clearml, &worker, async {
        remove_the_task(&api, &id).await;
        let worker = worker.clone();
        tokio::task::spawn_blocking(move || worker.trigger_scheduled(Some(slot_0620() + MINUTE)))
            .await
            .unwrap()
            .unwrap();
    })
    .await;
    let r = clearml.records();
    assert_eq!(
        (r.clones.len(), r.enqueues.len()),
        (1, 0),
        "cloned, not enqueued"
    );
    // Within the lease (12 s here): left alone.
    worker
        .trigger_scheduled(Some(slot_0620() + 2 * MINUTE))
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        clearml.records().deletes.is_empty(),
        "not under a live claim"
    );
    // After it: cleaned up.
    tokio::time::sleep(std::time::Duration::from_secs(13).saturating_sub(started.elapsed())).await;
    worker
        .trigger_scheduled(Some(slot_0620() + 3 * MINUTE))
        .unwrap();
    let r = clearml.records();
    let deleted: Vec<&str> = r.deletes.iter().map(|d| d.task.as_str()).collect();
    assert_eq!(deleted, [r.clones[0].id.as_str()], "the clone is deleted");
    assert_eq!(r.enqueues.len(), 0);
}

/// clearml-server answers at most 500 tasks a call (`max_page_size`), however many ids are
/// asked for. With 700 runs open (no agent takes them), the status poll still finds every one:
/// none is taken for deleted in ClearML and ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_open_runs_than_one_clearml_page_are_all_still_followed() {
    let (clearml, worker, api) = without_agent().await;
    let tasks: Vec<Value> = (0..350)
        .map(|i| {
            json!({"id": format!("job-{i}"), "base_task_id": demo::TASK_TRAIN, "queue": "default",
                   "recurrence": "daily", "times": ["06:20", "06:21"]})
        })
        .collect();
    let id = create(
        &api,
        &json!({"format": "clearml-task-scheduler/v1", "name": "Many open runs", "scheduled_tasks": tasks}),
    )
    .await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot - MINUTE)).unwrap();
    for (minute, launched) in [(slot, 350), (slot + MINUTE, 700)] {
        worker.trigger_scheduled(Some(minute)).unwrap();
        // The launches the tick's call budget left go on in the object's alarm.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while clearml.records().enqueues.len() < launched && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(clearml.records().enqueues.len(), launched);
    }
    // The poll: the 100 newest clones by the instance's tag, the other 600 by id.
    worker.trigger_scheduled(Some(slot + 2 * MINUTE)).unwrap();
    let dash = dashboard(&api, &id).await;
    assert_eq!(dash["runs"]["total"], 700, "{}", dash["runs"]["total"]);
    let statuses: std::collections::BTreeMap<String, usize> = dash["runs"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .fold(Default::default(), |mut m, r| {
            *m.entry(r["status"].as_str().unwrap().to_string())
                .or_default() += 1;
            m
        });
    assert_eq!(statuses.get("queued"), Some(&500), "{statuses:?}");
    let deleted: Vec<String> = log_messages(&dash)
        .into_iter()
        .filter(|m| m.contains("deleted in ClearML"))
        .collect();
    assert!(deleted.is_empty(), "{deleted:?}");
    assert!(clearml.records().deletes.is_empty());
}

/// A daily instance whose slot's first enqueue failed after ClearML added the clone to the
/// queue (the `enqueue_entry_kept` fault): returns it, the slot and the clone's id.
async fn launch_leaving_a_stray_queue_entry(
) -> (StandinHandle, WorkerProcess, Api, String, i64, String) {
    let (clearml, worker, api, id) = daily_instance_with("catch_up", json!("latest")).await;
    let slot = slot_0620();
    let clone = launch_whose_enqueue_keeps_its_entry(&clearml, &worker, slot);
    (clearml, worker, api, id, slot, clone)
}

/// Ticks `slot` with its first enqueue failing after ClearML added the queue entry; returns
/// the clone's id.
fn launch_whose_enqueue_keeps_its_entry(
    clearml: &StandinHandle,
    worker: &WorkerProcess,
    slot: i64,
) -> String {
    clearml.push_fault(ScriptedFault::new(
        "tasks.enqueue",
        FaultKind::EnqueueEntryKept,
    ));
    worker.trigger_scheduled(Some(slot)).unwrap();
    clearml.records().clones[0].id.clone()
}

/// clearml-server can fail an enqueue after adding the task to the queue (its queue metrics
/// write): the task goes back to `created`, the entry stays, the answer is a 500. The retry's
/// enqueue then meets that entry (400/706). The stray entry is removed and the clone enqueued
/// for real: one clone, queued, in the queue once, recorded as a run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_enqueue_that_left_its_queue_entry_is_enqueued_for_real_by_the_retry() {
    let (clearml, worker, api, id, slot, clone) = launch_leaving_a_stray_queue_entry().await;
    let status_and_entries = || {
        clearml.with_state(|s| {
            let status = s.task(&clone).unwrap().status().to_string();
            let entries: usize = s
                .queues
                .iter()
                .map(|q| q.entries.iter().filter(|e| e.task == clone).count())
                .sum();
            (status, entries)
        })
    };
    assert_eq!(
        status_and_entries(),
        ("created".to_string(), 1),
        "the fault"
    );
    worker.trigger_scheduled(Some(slot + MINUTE)).unwrap();
    assert_eq!(status_and_entries(), ("queued".to_string(), 1));
    assert_eq!(clearml.records().clones.len(), 1);
    let dash = dashboard(&api, &id).await;
    assert_eq!(dash["runs"]["total"], 1, "{dash}");
    assert_eq!(dash["runs"]["items"][0]["task_id"], clone.as_str());
    assert_eq!(dash["runs"]["items"][0]["status"], "queued", "{dash}");
}

/// The same stray entry, but an agent pops it and starts the clone between the retry's status
/// read and its removal of the entry. The removal touches the queue only, finds no entry, and
/// the next retry sees the clone running: it is never forced back to `created` (what
/// `tasks.dequeue` would do to a running task) nor enqueued again. One clone, one run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stray_queue_entry_an_agent_takes_first_leaves_its_clone_running() {
    let (clearml, worker, api, id, slot, clone) = launch_leaving_a_stray_queue_entry().await;
    clearml.push_fault(ScriptedFault::new(
        "queues.remove_task",
        FaultKind::AgentTakesFirst,
    ));
    let status = || clearml.with_state(|s| s.task(&clone).unwrap().status().to_string());
    worker.trigger_scheduled(Some(slot + MINUTE)).unwrap();
    assert_eq!(status(), "in_progress");
    // The removal found no entry: a transient failure, retried (after its back-off) by listing.
    worker.trigger_scheduled(Some(slot + 3 * MINUTE)).unwrap();
    assert_eq!(status(), "in_progress");
    let records = clearml.records();
    assert_eq!(records.clones.len(), 1);
    assert_eq!(records.count("queues.remove_task"), 1);
    assert_eq!(records.count("tasks.dequeue"), 0);
    // The first enqueue (its entry kept, the clone put back) and the retry's (400/706): none after.
    assert_eq!(records.count("tasks.enqueue"), 2);
    let dash = dashboard(&api, &id).await;
    assert_eq!(dash["runs"]["total"], 1, "{dash}");
    assert_eq!(dash["runs"]["items"][0]["task_id"], clone.as_str());
    assert_eq!(dash["runs"]["items"][0]["status"], "in_progress", "{dash}");
}

/// The same stray entry with an agent serving the queue: like clearml-agent, it pops the entry
/// and runs the clone (its `tasks.started` is forced, whatever the status) before the retry.
/// The retry lists the slot's clones, finds it running and records it as the slot's run: no
/// second enqueue, no second clone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stray_queue_entry_an_agent_runs_before_the_retry_becomes_the_run() {
    let (clearml, worker, api, id) = instance_with_agent(0.2, &daily_0620("default")).await;
    let slot = slot_0620();
    let clone = launch_whose_enqueue_keeps_its_entry(&clearml, &worker, slot);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while clearml.task(&clone).unwrap()["status"] == "created" {
        assert!(
            std::time::Instant::now() < deadline,
            "the agent ran the stray entry"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    worker.trigger_scheduled(Some(slot + MINUTE)).unwrap();
    let records = clearml.records();
    assert_eq!(records.clones.len(), 1);
    assert_eq!(
        records.count("tasks.enqueue"),
        1,
        "the retry enqueued nothing"
    );
    let dash = dashboard(&api, &id).await;
    assert_eq!(dash["runs"]["total"], 1, "{dash}");
    assert_eq!(dash["runs"]["items"][0]["task_id"], clone.as_str());
}

/// A destination project ClearML will not create (a part under 3 characters, clearml-server's
/// rule since 2025) fails the launch for good, before anything is cloned, and the log says
/// what to change. The configuration itself is accepted: such a project may already exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_clearml_will_not_create_fails_with_what_to_change() {
    let (clearml, worker, api, id) =
        daily_instance_with("destination_project", json!("Scheduled/ab")).await;
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    assert_eq!(clearml.records().clones.len(), 0, "no orphan clone");
    let log = log_messages(&dashboard(&api, &id).await).join("\n");
    assert!(
        log.contains("needs at least 3 characters in each part"),
        "{log}"
    );
}
