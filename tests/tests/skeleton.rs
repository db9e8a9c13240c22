//! The walking skeleton, end to end: the worker in workerd serves the app and
//! `/api/health`, the scheduled handler writes a heartbeat to KV, the app shows
//! it in headless Chromium, and the deployable bundle builds.

use scheduler_e2e::browser::Browser;
use scheduler_e2e::harness::{blocking_get, repo_root, tool_path, WorkerOptions, WorkerProcess};
use serde_json::Value;

fn health(worker: &WorkerProcess) -> Value {
    let (status, body) = blocking_get(&format!("{}/api/health", worker.url)).unwrap();
    assert_eq!(status, 200, "GET /api/health: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("health is not JSON ({e}): {body}"))
}

#[test]
fn health_reports_version_time_and_the_heartbeat_of_a_scheduled_event() {
    let worker = WorkerProcess::start(WorkerOptions::default()).unwrap();
    let before = health(&worker);
    assert_eq!(before["version"], scheduler_core::VERSION);
    let time = before["time"].as_str().expect("time is a string");
    assert!(
        time.ends_with('Z') && time.len() == 24,
        "RFC 3339 UTC: {time}"
    );
    assert!(
        before["heartbeat"].is_null(),
        "fresh KV has no heartbeat: {before}"
    );

    // `/cdn-cgi/handler/scheduled?time=` sets the event's scheduled time: later
    // issues rely on it to test "daily at 06:20" at 06:20.
    let chosen_ms = 1_795_674_000_000_i64; // 2026-11-26T06:20:00Z
    worker.trigger_scheduled(Some(chosen_ms)).unwrap();
    let after = health(&worker);
    assert_eq!(
        after["heartbeat"]["scheduled_time"], "2026-11-26T06:20:00.000Z",
        "{after}"
    );
    assert_eq!(after["heartbeat"]["cron"], "* * * * *");

    // `/__scheduled` runs the handler too, but ignores `time` (the event gets "now"):
    // the worker's tick summary line names the event's time.
    let (status, _) = blocking_get(&format!(
        "{}/__scheduled?cron=*+*+*+*+*&time={chosen_ms}",
        worker.url
    ))
    .unwrap();
    assert_eq!(status, 200);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let ticks = worker.tick_lines();
    assert_eq!(ticks.len(), 2, "{ticks:#?}");
    assert!(
        ticks[0].starts_with("tick 2026-11-26T06:20:00Z"),
        "{}",
        ticks[0]
    );
    assert!(
        !ticks[1].starts_with("tick 2026-11-26T06:20:00Z"),
        "/__scheduled now honours time=; the harness can use it: {}",
        ticks[1]
    );
}

#[test]
fn worker_serves_the_built_app_and_json_errors() {
    let worker = WorkerProcess::start(WorkerOptions::default()).unwrap();
    let (status, index) = blocking_get(&format!("{}/", worker.url)).unwrap();
    assert_eq!(status, 200);
    assert!(
        index.contains("/pkg/app.js"),
        "index.html loads the app: {index}"
    );
    let (status, _) = blocking_get(&format!("{}/pkg/app_bg.wasm", worker.url)).unwrap();
    assert_eq!(status, 200, "the app's wasm is served");
    let (status, body) = blocking_get(&format!("{}/api/nope", worker.url)).unwrap();
    assert_eq!(status, 404);
    let err: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["error"]["code"], "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_in_chromium_shows_the_health_data() {
    let worker = WorkerProcess::start(WorkerOptions::default()).unwrap();
    worker.trigger_scheduled(Some(1_795_674_000_000)).unwrap();
    let browser = Browser::start().await.unwrap();
    browser.client.goto(&worker.url).await.unwrap();
    let version = browser.text_of("#health-version").await.unwrap();
    assert_eq!(version, scheduler_core::VERSION);
    let beat = browser.text_of("#health-heartbeat").await.unwrap();
    assert_eq!(beat, "2026-11-26T06:20:00.000Z");
    browser.screenshot("skeleton-health").await.unwrap();
    browser.close().await.unwrap();
}

#[test]
fn wrangler_builds_the_deployable_bundle() {
    let root = repo_root();
    let out = root.join("target/bundle");
    let _ = std::fs::remove_dir_all(&out);
    let status = std::process::Command::new(root.join("node_modules/.bin/wrangler"))
        .current_dir(&root)
        .env("PATH", tool_path())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .args(["deploy", "--dry-run", "--outdir"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "wrangler deploy --dry-run failed");
    let mut raw = 0u64;
    let mut gz = 0u64;
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            raw += std::fs::metadata(&path).unwrap().len();
            gz += gzip_len(&path);
        }
    }
    let line = format!("worker bundle: {raw} bytes raw, {gz} bytes gzipped\n");
    print!("{line}");
    std::fs::write(root.join("target/bundle-size.txt"), &line).unwrap();
    // Cloudflare Free rejects a worker over 3 MiB gzipped.
    assert!(gz > 0 && gz < 3 * 1024 * 1024, "{line}");
}

fn gzip_len(path: &std::path::Path) -> u64 {
    let out = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .expect("gzip");
    out.stdout.len() as u64
}
