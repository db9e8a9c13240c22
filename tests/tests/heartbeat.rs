//! The dead-man's switch in workerd: `/api/health` says whether the minute tick is late (and
//! answers 503 with `?strict=1` when it is), and the tick pings `HEARTBEAT_URL` once per
//! `HEARTBEAT_PERIOD_MINUTES`, counted at a receiver on loopback, never delaying a tick and never
//! showing the URL in a log or an answer.

use scheduler_e2e::harness::{blocking_get, WorkerOptions, WorkerProcess};
use scheduler_e2e::receiver::{Answer, Receiver};
use serde_json::Value;
use std::time::Duration;

const MINUTE: i64 = 60_000;

fn health(worker: &WorkerProcess, query: &str) -> (u16, Value) {
    let (status, body) = blocking_get(&format!("{}/api/health{query}", worker.url)).unwrap();
    (status, serde_json::from_str(&body).unwrap())
}

/// A whole minute (the cron's own times are whole minutes).
fn minute_at(n: i64) -> i64 {
    1_795_674_000_000 + n * MINUTE // 2026-11-26T06:20:00Z, a multiple of 5 minutes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_says_when_the_tick_is_late_and_strict_health_fails_then() {
    let worker =
        WorkerProcess::start(WorkerOptions::default().var("TICK_LATE_AFTER_SECONDS", "2")).unwrap();
    let (status, before) = health(&worker, "");
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["tick"]["late"], true, "no tick ever ran: {before}");
    assert!(before["tick"]["seconds_since_last_tick"].is_null());
    assert_eq!(health(&worker, "?strict=1").0, 503);

    worker.trigger_scheduled(Some(minute_at(0))).unwrap();
    let (status, after) = health(&worker, "?strict=1");
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["tick"]["late"], false, "{after}");
    assert_eq!(after["tick"]["late_after_seconds"], 2);

    // No tick for longer than the threshold: late again, and a monitor reading only the
    // status sees it.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (status, late) = health(&worker, "?strict=1");
    assert_eq!(status, 503, "{late}");
    assert_eq!(late["tick"]["late"], true);
    assert!(
        late["tick"]["seconds_since_last_tick"].as_i64().unwrap() >= 3,
        "{late}"
    );
    assert_eq!(
        health(&worker, "").0,
        200,
        "without strict, health answers 200"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tick_pings_the_heartbeat_url_once_per_period_and_never_shows_it() {
    let monitor = Receiver::start().await.unwrap();
    let secret_path = "/ping/5d2c1a0e-secret-check-uuid";
    let worker = WorkerProcess::start(
        WorkerOptions::default()
            .var("HEARTBEAT_URL", &monitor.url(secret_path))
            .var("HEARTBEAT_PERIOD_MINUTES", "5"),
    )
    .unwrap();
    // Eleven minutes, the first of them twice (a duplicated event).
    worker.trigger_scheduled(Some(minute_at(0))).unwrap();
    for n in 0..=10 {
        worker.trigger_scheduled(Some(minute_at(n))).unwrap();
    }
    let pings: Vec<String> = monitor.received().into_iter().map(|r| r.uri).collect();
    // Minutes 0 (twice: each delivery is its own tick), 5 and 10.
    assert_eq!(pings, vec![secret_path; 4], "{pings:?}");

    // A monitor that fails or stalls: the tick still runs, and says so without the URL.
    monitor.answer_with(Answer::Status(500));
    worker.trigger_scheduled(Some(minute_at(15))).unwrap();
    monitor.answer_with(Answer::Stall(Duration::from_secs(8)));
    let started = std::time::Instant::now();
    worker.trigger_scheduled(Some(minute_at(20))).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "a stalled monitor is given up on"
    );
    assert_eq!(monitor.received().len(), 6);
    let ticks = worker.tick_lines();
    assert!(
        ticks
            .iter()
            .any(|t| t.starts_with("tick 2026-11-26T06:40:00Z")),
        "{ticks:#?}"
    );
    let log = worker.log_text();
    assert!(log.contains("heartbeat: the monitor answered 500"), "{log}");
    assert!(
        log.contains("heartbeat: the monitor did not answer within 5 s"),
        "{log}"
    );
    assert!(
        !log.contains("secret-check-uuid"),
        "the URL is a secret: {log}"
    );
    let (_, h) = health(&worker, "");
    assert!(!h.to_string().contains("secret-check-uuid"), "{h}");
}
