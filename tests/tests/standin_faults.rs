//! The stand-in's test machinery: the built-in agent, every fault kind (via the Rust handle and
//! via the HTTP admin routes), records and reset.

use std::time::{Duration, Instant};

use scheduler_e2e::standin::client::Client;
use scheduler_e2e::standin::{
    self, demo, FaultConfig, FaultKind, ScriptedFault, StandinConfig, StandinHandle,
};
use serde_json::{json, Value};

async fn start(cfg: StandinConfig) -> (StandinHandle, Client) {
    let srv = standin::spawn(cfg).await.unwrap();
    let mut c = Client::new(&srv.url());
    let a = c.login(demo::ACCESS_KEY, demo::SECRET_KEY).await.unwrap();
    assert_eq!(a.status, 200);
    (srv, c)
}

async fn clone_train(c: &Client) -> String {
    let a = c
        .call("tasks.clone", json!({"task": demo::TASK_TRAIN}))
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    a.data()["id"].as_str().unwrap().to_string()
}

async fn wait_status(srv: &StandinHandle, id: &str, want: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let t = srv.task(id).unwrap();
        if t["status"] == want {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "task {id} not {want} in {within:?}: {t}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn agent_runs_queued_tasks_to_completion() {
    let (srv, c) = start(StandinConfig {
        agent_seconds: 1.0,
        ..StandinConfig::default()
    })
    .await;
    let id = clone_train(&c).await;
    let a = c
        .call(
            "tasks.enqueue",
            json!({"task": id, "queue": demo::QUEUE_DEFAULT, "verify_watched_queue": true}),
        )
        .await
        .unwrap();
    assert_eq!(a.data()["queue_watched"], true);
    let t0 = Instant::now();

    // Still queued shortly after.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(srv.task(&id).unwrap()["status"], "queued");

    let t = wait_status(&srv, &id, "in_progress", Duration::from_secs(5)).await;
    assert!(t0.elapsed() >= Duration::from_millis(900));
    assert!(t.get("started").is_some());
    assert!(t.get("completed").is_none());
    let q = c
        .call("queues.get_by_id", json!({"queue": demo::QUEUE_DEFAULT}))
        .await
        .unwrap();
    assert_eq!(q.data()["queue"]["entries"], json!([]), "agent pulled it");

    let t = wait_status(&srv, &id, "completed", Duration::from_secs(5)).await;
    assert!(t.get("completed").is_some());
    assert!(t["completed"].as_str() >= t["started"].as_str());

    // `tasks.stopped` on a queued task leaves its queue entry (clearml-server's does), and the
    // agent pops it and runs the task, as clearml-agent does (its `tasks.started` is forced).
    let id2 = clone_train(&c).await;
    c.call(
        "tasks.enqueue",
        json!({"task": id2, "queue": demo::QUEUE_GPU}),
    )
    .await
    .unwrap();
    c.call("tasks.stopped", json!({"task": id2})).await.unwrap();
    wait_status(&srv, &id2, "in_progress", Duration::from_secs(5)).await;
    // `tasks.stop` takes a queued task off its queue: it stays stopped.
    let id3 = clone_train(&c).await;
    c.call(
        "tasks.enqueue",
        json!({"task": id3, "queue": demo::QUEUE_GPU}),
    )
    .await
    .unwrap();
    c.call("tasks.stop", json!({"task": id3})).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(srv.task(&id3).unwrap()["status"], "stopped");
}

#[tokio::test]
async fn agent_off_keeps_tasks_queued() {
    let (srv, c) = start(StandinConfig::without_agent()).await;
    let id = clone_train(&c).await;
    c.call(
        "tasks.enqueue",
        json!({"task": id, "queue": demo::QUEUE_DEFAULT}),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(srv.task(&id).unwrap()["status"], "queued");
}

#[tokio::test]
async fn http500_fault_skips_the_call() {
    let (srv, c) = start(StandinConfig::without_agent()).await;
    srv.push_fault(ScriptedFault::new("tasks.clone", FaultKind::Http500));
    let a = c
        .call("tasks.clone", json!({"task": demo::TASK_TRAIN}))
        .await
        .unwrap();
    assert_eq!((a.status, a.codes()), (500, (500, 0)));
    assert_eq!(a.body["meta"]["endpoint"]["name"], "tasks.clone");
    let recs = srv.records();
    assert!(recs.clones.is_empty(), "no clone made");
    let call = recs.calls_to("tasks.clone").last().unwrap();
    assert_eq!(call.fault, Some(FaultKind::Http500));
    assert_eq!(call.result_code, 500);
    // One-shot: the next clone works.
    clone_train(&c).await;
    assert!(srv.faults().next.is_empty());
}

#[tokio::test]
async fn drop_after_clone_makes_the_task_but_hides_the_id() {
    let (srv, c) = start(StandinConfig::without_agent()).await;
    srv.push_fault(ScriptedFault::new("tasks.clone", FaultKind::DropAfterClone));
    let a = c
        .call(
            "tasks.clone",
            json!({"task": demo::TASK_TRAIN, "new_task_system_tags": ["sched:slot-1"]}),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 500);
    assert!(a.data().get("id").is_none());
    let recs = srv.records();
    assert_eq!(recs.clones.len(), 1);
    assert!(recs.clones[0].response_dropped);
    // The orphan is findable by its system tag, which is how a client recovers.
    let a = c
        .call(
            "tasks.get_all",
            json!({"system_tags": ["sched:slot-1"], "only_fields": ["id"]}),
        )
        .await
        .unwrap();
    assert_eq!(a.data()["tasks"], json!([{"id": recs.clones[0].id}]));
}

#[tokio::test]
async fn drop_connection_cuts_the_response() {
    let (srv, c) = start(StandinConfig::without_agent()).await;
    srv.push_fault(ScriptedFault::new("tasks.clone", FaultKind::DropConnection));
    let err = c
        .call("tasks.clone", json!({"task": demo::TASK_TRAIN}))
        .await
        .expect_err("the body must not arrive whole");
    let _ = err;
    let recs = srv.records();
    assert_eq!(recs.clones.len(), 1);
    assert!(recs.clones[0].response_dropped);
    // The server is still fine afterwards.
    clone_train(&c).await;
}

#[tokio::test]
async fn stalled_body_sends_the_head_then_holds_the_rest() {
    let (srv, c) = start(StandinConfig::without_agent()).await;
    srv.push_fault(ScriptedFault {
        endpoint: Some("tasks.clone".into()),
        kind: FaultKind::StalledBody,
        delay_ms: Some(400),
    });
    let t0 = Instant::now();
    let a = c
        .call("tasks.clone", json!({"task": demo::TASK_TRAIN}))
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    assert!(
        t0.elapsed() >= Duration::from_millis(400),
        "the rest came late"
    );
    assert_eq!(a.data()["id"], json!(srv.records().clones[0].id));
}

#[tokio::test]
async fn delay_fault_holds_the_answer() {
    let (srv, c) = start(StandinConfig::without_agent()).await;
    srv.push_fault(ScriptedFault {
        endpoint: Some("tasks.get_all".into()),
        kind: FaultKind::Delay,
        delay_ms: Some(400),
    });
    let t0 = Instant::now();
    let a = c.call("tasks.get_all", json!({})).await.unwrap();
    assert_eq!(a.status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(400));
    let t0 = Instant::now();
    c.call("tasks.get_all", json!({})).await.unwrap();
    assert!(t0.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn expire_tokens_forces_a_new_login() {
    let (srv, mut c) = start(StandinConfig::without_agent()).await;
    srv.push_fault(ScriptedFault::new("tasks.enqueue", FaultKind::ExpireTokens));
    let id = clone_train(&c).await;
    let a = c
        .call(
            "tasks.enqueue",
            json!({"task": id, "queue": demo::QUEUE_DEFAULT}),
        )
        .await
        .unwrap();
    assert_eq!((a.status, a.codes()), (401, (401, 30)));
    assert_eq!(srv.task(&id).unwrap()["status"], "created");
    // Every old token is dead now, not just for that call.
    let a = c.call("tasks.get_all", json!({})).await.unwrap();
    assert_eq!(a.codes(), (401, 30));
    c.login(demo::ACCESS_KEY, demo::SECRET_KEY).await.unwrap();
    let a = c
        .call(
            "tasks.enqueue",
            json!({"task": id, "queue": demo::QUEUE_DEFAULT}),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200);

    // Also directly through the handle.
    srv.expire_tokens();
    let a = c.call("tasks.get_all", json!({})).await.unwrap();
    assert_eq!(a.codes(), (401, 30));
}

#[tokio::test]
async fn random_faults_follow_rate_and_are_reproducible() {
    let run = |seed: u64| async move {
        let (srv, c) = start(StandinConfig::without_agent()).await;
        srv.set_faults(FaultConfig {
            fail_rate: 0.3,
            seed: Some(seed),
            kinds: vec![FaultKind::Http500],
            endpoints: vec!["tasks.get_all".into()],
            ..FaultConfig::default()
        });
        let mut codes = vec![];
        for _ in 0..60 {
            codes.push(c.call("tasks.get_all", json!({})).await.unwrap().status);
        }
        // Other endpoints are untouched.
        assert_eq!(
            c.call("queues.get_all", json!({})).await.unwrap().status,
            200
        );
        codes
    };
    let a = run(42).await;
    let failures = a.iter().filter(|s| **s == 500).count();
    assert!((6..=35).contains(&failures), "{failures} of 60");
    assert_eq!(a, run(42).await, "same seed, same faults");
}

#[tokio::test]
async fn admin_routes_over_http() {
    let (srv, c) = start(StandinConfig::without_agent()).await;
    let http = reqwest::Client::new();
    let base = srv.url();

    let r = http
        .post(format!("{base}/_standin/faults"))
        .json(&json!({"next": [{"endpoint": "tasks.clone", "kind": "drop_after_clone"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a = c
        .call("tasks.clone", json!({"task": demo::TASK_TRAIN}))
        .await
        .unwrap();
    assert_eq!(a.status, 500);

    let r = http
        .post(format!("{base}/_standin/faults/next"))
        .json(&json!({"kind": "http500"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a = c.call("queues.get_all", json!({})).await.unwrap();
    assert_eq!(a.status, 500);

    let r = http
        .post(format!("{base}/_standin/faults"))
        .json(&json!({"fail_rate": 2, "kinds": ["nonsense"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let recs: Value = http
        .get(format!("{base}/_standin/records"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recs["counts"]["tasks.clone"], 1);
    assert_eq!(recs["clones"][0]["response_dropped"], true);
    let calls = recs["calls"].as_array().unwrap();
    assert_eq!(calls[0]["endpoint"], "auth.login");
    assert_eq!(calls.last().unwrap()["fault"], "http500");

    let r = http
        .post(format!("{base}/_standin/expire_tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        c.call("tasks.get_all", json!({})).await.unwrap().codes(),
        (401, 30)
    );

    let r = http
        .post(format!("{base}/_standin/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let recs = srv.records();
    assert!(recs.calls.is_empty() && recs.clones.is_empty());
    assert_eq!(srv.tasks().len(), 3, "demo tasks only");
    assert!(srv.faults().next.is_empty());
}
