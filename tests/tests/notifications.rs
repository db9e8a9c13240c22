//! Never silent, end to end: the worker in workerd against the ClearML stand-in, with a webhook
//! receiver on loopback that checks signatures the way the README tells receivers to. What is
//! asserted is what arrived at the receiver, not what the worker says it sent.

use std::time::Duration;

use scheduler_e2e::api_client::Api;
use scheduler_e2e::harness::{next_0620_ms, WorkerOptions, WorkerProcess};
use scheduler_e2e::receiver::{Answer, Received, Receiver};
use scheduler_e2e::standin::{self, demo, StandinConfig, StandinHandle};
use serde_json::{json, Value};

const TOKEN: &str = "notify-test-admin-token-0123456789abcdef";
const MINUTE: i64 = 60_000;
const SIGNING_SECRET: &str = "whsec-test-0123456789abcdef-do-not-leak";
/// A path that stands for the secret part of a webhook URL.
const HOOK_PATH: &str = "/hooks/T0SECRET/B0SECRET/xyzzy-webhook-credential";
const SLACK_PATH: &str = "/services/T0SLACK/B0SLACK/slack-credential-4321";

/// The stand-in (no agent: runs stay queued until a test changes them), the worker, an API
/// client and the receiver, checking signatures at the webhook's path.
async fn setup() -> (StandinHandle, WorkerProcess, Api, Receiver) {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let worker = WorkerProcess::start(
        WorkerOptions::admin(TOKEN)
            .clearml(&clearml)
            .var("CLEARML_WEB_HOST", "https://clearml-web.example")
            .var("PUBLIC_URL", "https://scheduler.example"),
    )
    .unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let receiver = Receiver::start().await.unwrap();
    receiver.verify_with(HOOK_PATH, SIGNING_SECRET);
    (clearml, worker, api, receiver)
}

fn channels(receiver: &Receiver) -> Value {
    json!({"channels": [
        {"id": "ops", "type": "webhook", "url": receiver.url(HOOK_PATH), "signing_secret": SIGNING_SECRET},
        {"id": "team", "type": "slack", "url": receiver.url(SLACK_PATH), "events": ["launch_failed", "recovered"]}
    ]})
}

fn instance(queue: &str, recurrence: Value, notifications: Value) -> Value {
    let mut task = json!({
        "id": "retrain",
        "name": "Retrain",
        "base_task_id": demo::TASK_TRAIN,
        "queue": queue,
    });
    for (k, v) in recurrence.as_object().unwrap() {
        task[k] = v.clone();
    }
    json!({
        "format": "clearml-task-scheduler/v1",
        "name": "Nightly retraining",
        "scheduled_tasks": [task],
        "notifications": notifications
    })
}

fn daily() -> Value {
    json!({"recurrence": "daily", "times": ["06:20"]})
}

async fn create(api: &Api, config: &Value) -> String {
    api.create(config).await.unwrap()
}

/// "Send test" on channel `channel`: the answer.
async fn send_test(api: &Api, id: &str, channel: &str) -> Value {
    api.post(
        &format!("/api/instances/{id}/channels/{channel}/test"),
        &json!({}),
    )
    .await
    .unwrap()
}

/// Waits (up to 10 s) until `n` requests have arrived at `path`; returns them.
async fn arrived(receiver: &Receiver, path: &str, n: usize) -> Vec<Received> {
    for _ in 0..100 {
        if receiver.received_at(path).len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    receiver.received_at(path)
}

/// Waits (up to 10 s) until every notification of the dashboard is settled; returns them.
async fn settled(api: &Api, id: &str) -> Vec<Value> {
    let mut told = Vec::new();
    for _ in 0..100 {
        told = notifications(api, id).await;
        if told.iter().all(|n| n["state"] != "pending") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    told
}

async fn notifications(api: &Api, id: &str) -> Vec<Value> {
    let d = api
        .get(&format!("/api/instances/{id}/dashboard"))
        .await
        .unwrap();
    d["notifications"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_that_fails_for_good_is_told_signed_to_each_channel_once_and_nothing_leaks() {
    let (clearml, worker, api, receiver) = setup().await;
    let id = create(
        &api,
        &instance("no-such-queue", daily(), channels(&receiver)),
    )
    .await;
    let slot = next_0620_ms();
    // The slot's minute delivered three times at the same moment: still told once per channel.
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| worker.trigger_scheduled(Some(slot)).unwrap());
        }
    });
    let hooks = arrived(&receiver, HOOK_PATH, 1).await;
    let slack = arrived(&receiver, SLACK_PATH, 1).await;
    // A few quiet minutes: nothing is told twice.
    for m in 1..=3 {
        worker.trigger_scheduled(Some(slot + m * MINUTE)).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received_at(HOOK_PATH).len(), 1, "told once");
    assert_eq!(receiver.received_at(SLACK_PATH).len(), 1, "told once");
    assert_eq!(clearml.records().clones.len(), 0);

    let hook = &hooks[0];
    assert_eq!(hook.method, "POST");
    assert_eq!(hook.signature_ok, Some(true), "{:?}", hook.headers);
    let body = hook.json();
    assert_eq!(body["schema"], "clearml-task-scheduler/notification/v1");
    assert_eq!(body["event"], "launch_failed");
    assert_eq!(
        hook.header("x-scheduler-delivery"),
        body["id"].as_str(),
        "the header and the body carry the same stable id"
    );
    assert_eq!(body["instance"]["id"], id.as_str());
    assert_eq!(body["instance"]["name"], "Nightly retraining");
    assert_eq!(
        body["instance"]["dashboard_url"],
        format!("https://scheduler.example/#/instances/{id}")
    );
    assert_eq!(
        body["task"],
        json!({"item": "retrain", "name": "Retrain", "queue": "no-such-queue"})
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("queue 'no-such-queue' was not found"),
        "{body}"
    );
    assert_eq!(body["count"], 1);

    let text = slack[0].json()["text"].as_str().unwrap().to_string();
    assert!(
        text.starts_with(":rotating_light: *Launch failed* · Nightly retraining · Retrain\n"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "<https://scheduler.example/#/instances/{id}|Dashboard>"
    )));

    let told = settled(&api, &id).await;
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told
        .iter()
        .all(|n| n["state"] == "delivered" && n["attempts"] == 1));

    // The URLs and the signing secret are in no answer, export or log.
    let answers = [
        api.get(&format!("/api/instances/{id}"))
            .await
            .unwrap()
            .to_string(),
        api.get(&format!("/api/instances/{id}/dashboard"))
            .await
            .unwrap()
            .to_string(),
        api.send(
            reqwest::Method::GET,
            &format!("/api/instances/{id}/export"),
            None,
        )
        .await
        .unwrap()
        .1
        .to_string(),
        worker.log_text(),
    ];
    for text in &answers {
        for secret in [
            "T0SECRET",
            "xyzzy-webhook-credential",
            "slack-credential",
            SIGNING_SECRET,
        ] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
    }
    let detail = api.get(&format!("/api/instances/{id}")).await.unwrap();
    let ch = &detail["config"]["notifications"]["channels"];
    assert_eq!(
        ch[1]["url_hint"],
        format!("127.0.0.1:{}/…/4321", receiver.port())
    );
    assert_eq!(ch[0]["signing_secret_hint"], "…leak");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_sends_the_hints_back_keeps_the_secrets_and_a_new_instance_cannot_use_them() {
    let (_clearml, _worker, api, receiver) = setup().await;
    let id = create(&api, &instance("default", daily(), channels(&receiver))).await;
    let mut config = api.get(&format!("/api/instances/{id}")).await.unwrap()["config"].clone();
    config["name"] = json!("Renamed");
    api.replace(&id, &config).await.unwrap();
    // The kept secrets still work: "Send test" reaches the receiver, signed.
    let test = send_test(&api, &id, "ops").await;
    assert_eq!(test["delivered"], true, "{test}");
    assert_eq!(test["status"], 200);
    let got = arrived(&receiver, HOOK_PATH, 1).await;
    assert_eq!(got[0].signature_ok, Some(true));
    assert_eq!(got[0].json()["event"], "test");

    // The export into a new instance: the hints name secrets it does not have.
    let (status, body) = api
        .send(reqwest::Method::POST, "/api/instances", Some(&config))
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    let body = body.to_string();
    assert!(
        body.contains("notifications.channels[0].url") && body.contains("write the URL again"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_test_shows_what_a_refusing_receiver_answered() {
    let (_clearml, _worker, api, receiver) = setup().await;
    let id = create(&api, &instance("default", daily(), channels(&receiver))).await;
    receiver.answer_next(SLACK_PATH, &[Answer::Status(410)]);
    let test = send_test(&api, &id, "team").await;
    assert_eq!(test["delivered"], false, "{test}");
    assert_eq!(test["status"], 410);
    assert!(
        test["error"].as_str().unwrap().contains("HTTP 410"),
        "{test}"
    );
    let slack = arrived(&receiver, SLACK_PATH, 1).await;
    assert!(slack[0].json()["text"]
        .as_str()
        .unwrap()
        .starts_with(":wave: *Test message*"));
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            &format!("/api/instances/{id}/channels/nope/test"),
            Some(&json!({})),
        )
        .await
        .unwrap();
    assert_eq!(status, 404, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_delivery_is_sent_again_with_the_same_id_and_a_slow_receiver_delays_no_tick() {
    let (_clearml, worker, api, receiver) = setup().await;
    let id = create(
        &api,
        &instance("no-such-queue", daily(), channels(&receiver)),
    )
    .await;
    receiver.answer_next(
        HOOK_PATH,
        &[Answer::Status(503), Answer::Stall(Duration::from_secs(8))],
    );
    let slot = next_0620_ms();
    let started = std::time::Instant::now();
    worker.trigger_scheduled(Some(slot)).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the tick does not wait for receivers"
    );
    assert_eq!(arrived(&receiver, HOOK_PATH, 1).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let told = notifications(&api, &id).await;
    let ops = told.iter().find(|n| n["channel"] == "ops").unwrap();
    assert_eq!(ops["state"], "pending", "{ops}");
    assert!(
        ops["last_error"].as_str().unwrap().contains("HTTP 503"),
        "{ops}"
    );
    // A minute later (the backoff's first step) it is sent again: this time the receiver
    // stalls past the deadline, and the tick is still not delayed.
    let started = std::time::Instant::now();
    worker.trigger_scheduled(Some(slot + MINUTE)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
    let second = arrived(&receiver, HOOK_PATH, 2).await;
    assert_eq!(second.len(), 2);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let ops = notifications(&api, &id)
        .await
        .into_iter()
        .find(|n| n["channel"] == "ops")
        .unwrap();
    assert!(
        ops["last_error"]
            .as_str()
            .unwrap()
            .contains("did not answer"),
        "{ops}"
    );
    // Two minutes after that: delivered.
    worker
        .trigger_scheduled(Some(slot + 3 * MINUTE + 1000))
        .unwrap();
    let third = arrived(&receiver, HOOK_PATH, 3).await;
    assert_eq!(third.len(), 3);
    let ids: Vec<Value> = third.iter().map(|r| r.json()["id"].clone()).collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one delivery, one id: {ids:?}"
    );
    assert!(third.iter().all(|r| r.signature_ok == Some(true)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ops = notifications(&api, &id)
        .await
        .into_iter()
        .find(|n| n["channel"] == "ops")
        .unwrap();
    assert_eq!(ops["state"], "delivered", "{ops}");
    assert_eq!(ops["attempts"], 3);
    assert!(!worker.log_text().contains("xyzzy-webhook-credential"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_grouped_into_a_summary_and_a_recovery_is_told() {
    let (_clearml, worker, api, receiver) = setup().await;
    let mut n = channels(&receiver);
    n["group_window_minutes"] = json!(5);
    let every_minute = json!({"recurrence": "cron", "cron": "* * * * *"});
    let id = create(
        &api,
        &instance("no-such-queue", every_minute.clone(), n.clone()),
    )
    .await;
    let start = next_0620_ms();
    for m in 0..=6 {
        worker.trigger_scheduled(Some(start + m * MINUTE)).unwrap();
    }
    // The slots between the save and the first tick were missed: told once, as slot_missed.
    let hooks = arrived(&receiver, HOOK_PATH, 3).await;
    let mut events: Vec<(String, u64)> = hooks
        .iter()
        .map(|r| {
            let b = r.json();
            (
                b["event"].as_str().unwrap().to_string(),
                b["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let missed = events.iter().position(|e| e.0 == "slot_missed").unwrap();
    events.remove(missed);
    // Seven failures: the first at once, then one summary of the repeats when the 5-minute
    // window ended (a failure after that opens a new group, told at once).
    assert_eq!(events[0], ("launch_failed".to_string(), 1));
    assert_eq!(events[1].0, "launch_failed");
    assert!(events[1].1 >= 4, "{events:?}");
    assert!(
        events.len() <= 3,
        "seven failures in six minutes are at most three messages: {events:?}"
    );

    // Fixed: the next launch succeeds, and that is told as a recovery.
    let mut config = api.get(&format!("/api/instances/{id}")).await.unwrap()["config"].clone();
    config["scheduled_tasks"][0]["queue"] = json!("default");
    api.replace(&id, &config).await.unwrap();
    let before = receiver.received_at(HOOK_PATH).len();
    worker.trigger_scheduled(Some(start + 8 * MINUTE)).unwrap();
    worker.trigger_scheduled(Some(start + 9 * MINUTE)).unwrap();
    let recovered = |path: &str| -> Vec<Value> {
        receiver
            .received_at(path)
            .iter()
            .map(Received::json)
            .filter(|b| {
                b["event"] == "recovered"
                    || b["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("*Recovered*"))
            })
            .collect()
    };
    for _ in 0..100 {
        if !recovered(HOOK_PATH).is_empty() && !recovered(SLACK_PATH).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after: Vec<Value> = receiver.received_at(HOOK_PATH)[before..]
        .iter()
        .map(Received::json)
        .collect();
    assert!(after.iter().any(|b| b["event"] == "recovered"), "{after:?}");
    assert!(
        after.iter().all(|b| b["event"] != "launch_failed"),
        "{after:?}"
    );
    assert!(recovered(SLACK_PATH)[0]["text"]
        .as_str()
        .unwrap()
        .starts_with(":white_check_mark: *Recovered*"));
    worker.trigger_scheduled(Some(start + 10 * MINUTE)).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(recovered(HOOK_PATH).len(), 1, "recovered once");
    assert_eq!(recovered(SLACK_PATH).len(), 1, "recovered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stuck_in_its_queue_and_a_failed_run_are_told_with_their_queue_and_link() {
    let (clearml, worker, api, receiver) = setup().await;
    let mut n = channels(&receiver);
    n["stuck_after_minutes"] = json!(2);
    let id = create(&api, &instance("default", daily(), n)).await;
    let slot = next_0620_ms();
    worker.trigger_scheduled(Some(slot)).unwrap();
    assert_eq!(clearml.records().enqueues.len(), 1);
    worker.trigger_scheduled(Some(slot + MINUTE)).unwrap();
    worker.trigger_scheduled(Some(slot + 2 * MINUTE)).unwrap();
    let hooks = arrived(&receiver, HOOK_PATH, 1).await;
    let stuck = hooks[0].json();
    assert_eq!(stuck["event"], "run_stuck", "{stuck}");
    assert!(
        stuck["message"]
            .as_str()
            .unwrap()
            .contains("ClearML lists no worker listening to queue \"default\""),
        "{stuck}"
    );
    let task_id = stuck["run"]["task_id"].as_str().unwrap().to_string();
    assert_eq!(
        stuck["run"]["url"],
        format!("https://clearml-web.example/projects/*/experiments/{task_id}/output/log")
    );
    assert!(
        receiver.received_at(SLACK_PATH).is_empty(),
        "team takes only launch_failed and recovered"
    );
    // The run fails in ClearML: told as run_failed.
    clearml.with_state(|s| {
        let t = s.tasks.iter_mut().find(|t| t.id() == task_id).unwrap();
        t.doc.insert("status".into(), json!("failed"));
    });
    worker.trigger_scheduled(Some(slot + 3 * MINUTE)).unwrap();
    let hooks = arrived(&receiver, HOOK_PATH, 2).await;
    let failed = hooks[1].json();
    assert_eq!(failed["event"], "run_failed", "{failed}");
    assert_eq!(failed["run"]["task_id"], task_id.as_str());
    let log = api
        .get(&format!("/api/instances/{id}/dashboard"))
        .await
        .unwrap()["log"]
        .to_string();
    assert!(log.contains("failed in ClearML"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hourly_limit_holds_back_and_the_next_message_says_how_many() {
    let (_clearml, worker, api, receiver) = setup().await;
    let mut n = channels(&receiver);
    n["max_per_hour"] = json!(2);
    let failing = |id: &str, time: &str| {
        json!({"id": id, "base_task_id": demo::TASK_TRAIN, "queue": "no-such-queue",
               "recurrence": "daily", "times": [time]})
    };
    // 20 past an hour two to three hours from now, and 45 minutes later (in the next clock
    // hour, whose limit is fresh): each task's only slot after the save. With fixed times
    // such as 06:20 and 07:05, a run between them would find today's 07:05 due too.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    const HOUR: i64 = 60 * MINUTE;
    let slot = (now / HOUR + 2) * HOUR + 20 * MINUTE;
    let hhmm = |ms: i64| format!("{:02}:{:02}", ms / MINUTE / 60 % 24, ms / MINUTE % 60);
    let (at, late) = (hhmm(slot), hhmm(slot + 45 * MINUTE));
    let config = json!({
        "format": "clearml-task-scheduler/v1",
        "name": "Storm",
        "scheduled_tasks": [failing("a", &at), failing("b", &at), failing("c", &at),
                            failing("d", &at), failing("late", &late)],
        "notifications": n
    });
    let _id = create(&api, &config).await;
    worker.trigger_scheduled(Some(slot)).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let first: Vec<Value> = receiver
        .received_at(HOOK_PATH)
        .iter()
        .map(Received::json)
        .collect();
    assert_eq!(
        first.len(),
        2,
        "four failures, two told this hour: {first:?}"
    );
    // The next hour's first message says how many were held back.
    worker.trigger_scheduled(Some(slot + 45 * MINUTE)).unwrap();
    let all = arrived(&receiver, HOOK_PATH, 3).await;
    let next = all[2].json();
    assert_eq!(next["task"]["item"], "late", "{next}");
    assert_eq!(next["held_back"], 2, "{next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_aborted_by_its_execution_limit_is_told_as_run_failed() {
    let (clearml, worker, api, receiver) = setup().await;
    let mut config = instance("default", daily(), channels(&receiver));
    // 0.02 h: 72 s.
    config["scheduled_tasks"][0]["execution_limit_hours"] = json!(0.02);
    let _id = create(&api, &config).await;
    let slot = next_0620_ms();
    worker.trigger_scheduled(Some(slot)).unwrap();
    assert_eq!(clearml.records().enqueues.len(), 1);
    for m in 1..=4 {
        worker.trigger_scheduled(Some(slot + m * MINUTE)).unwrap();
    }
    let hooks = arrived(&receiver, HOOK_PATH, 1).await;
    let told = hooks[0].json();
    assert_eq!(told["event"], "run_failed", "{told}");
    assert!(
        told["message"]
            .as_str()
            .unwrap()
            .contains("execution limit"),
        "{told}"
    );
}
