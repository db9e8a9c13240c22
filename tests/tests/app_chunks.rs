//! The editor (the form, with the core's validation, preview and zones) is a wasm chunk of its
//! own: a share link, the instances list and the dashboard never download it; the first editor
//! page does, once; a failed download is shown with a way to try again, which then works; the
//! focus on a link to the editor starts the download before the click.
//! Downloads are counted from the browser's own record (the Resource Timing entries).

use scheduler_e2e::api_client::Api;
use scheduler_e2e::browser::Browser;
use scheduler_e2e::harness::{WorkerOptions, WorkerProcess};
use serde_json::json;

const TOKEN: &str = "chunks-test-admin-token";

/// How many times the page has downloaded a file whose URL contains `part`.
async fn downloads_of(b: &Browser, part: &str) -> usize {
    let names = b
        .client
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)",
            vec![],
        )
        .await
        .unwrap();
    names
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n.as_str().unwrap_or_default().contains(part))
        .count()
}

async fn go(b: &Browser, route: &str) {
    b.client
        .execute("location.hash = arguments[0]; return 1", vec![json!(route)])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_editor_pages_download_the_editor_chunk_and_a_failed_download_can_be_retried() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let id = api
        .create(
            &json!({"format": "clearml-task-scheduler/v1", "name": "Nightly retraining",
            "scheduled_tasks": [{"base_task_id": "aabbccddeeff00112233445566778899",
            "queue": "default", "recurrence": "daily", "times": ["06:20"]}]}),
        )
        .await
        .unwrap();
    let share = api
        .post(&format!("/api/instances/{id}/shares"), &json!({}))
        .await
        .unwrap();
    let share_token = share["token"].as_str().unwrap().to_string();

    // A share link, in a browser that never signed in: the dashboard, without the editor.
    let b = Browser::start().await.unwrap();
    b.open(&worker.url, &format!("#/share/{share_token}"))
        .await
        .unwrap();
    b.wait_text("#scheduled", 20, |t| t.contains("aabbccddeeff"))
        .await
        .unwrap();
    assert_eq!(downloads_of(&b, "app_bg.wasm").await, 1);
    assert_eq!(downloads_of(&b, "split_editor").await, 0, "a share link");

    // Signed in: the list and the dashboard, still without it.
    b.sign_in(&worker.url, TOKEN).await.unwrap();
    b.wait_text("main h1", 20, |t| t.contains("Scheduler instances"))
        .await
        .unwrap();
    go(&b, &format!("#/instances/{id}")).await;
    b.wait_text("#scheduled", 20, |t| t.contains("aabbccddeeff"))
        .await
        .unwrap();
    assert_eq!(
        downloads_of(&b, "split_editor").await,
        0,
        "list and dashboard"
    );

    // The network fails the chunk: the page says so and offers to try again; nothing else broke.
    b.client
        .execute(
            "window.realFetch = window.fetch; \
             window.fetch = (url, opts) => String(url).includes('split_editor') \
               ? Promise.reject(new TypeError('offline (test)')) : window.realFetch(url, opts); \
             return 1",
            vec![],
        )
        .await
        .unwrap();
    go(&b, "#/new").await;
    let said = b
        .wait_text("#chunk-error", 20, |t| !t.is_empty())
        .await
        .unwrap();
    assert!(said.contains("could not be downloaded"), "{said}");
    assert_eq!(b.count("#instance-name").await.unwrap(), 0);
    assert_eq!(b.count(".topnav").await.unwrap(), 1, "the app still runs");

    // The connection is back: Try again downloads the chunk and shows the form.
    b.client
        .execute("window.fetch = window.realFetch; return 1", vec![])
        .await
        .unwrap();
    b.click("#chunk-retry").await.unwrap();
    b.element("#instance-name").await.unwrap();
    assert_eq!(b.count("#chunk-error").await.unwrap(), 0);
    assert_eq!(downloads_of(&b, "split_editor").await, 1);

    // Another editor page reuses it: the edit form fills without a second download.
    go(&b, &format!("#/instances/{id}/edit")).await;
    let mut name = json!(null);
    for _ in 0..100 {
        name = b
            .client
            .execute(
                "const i = document.getElementById('instance-name'); return i && i.value",
                vec![],
            )
            .await
            .unwrap();
        if name == json!("Nightly retraining") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(name, json!("Nightly retraining"), "the edit form fills");
    assert_eq!(downloads_of(&b, "split_editor").await, 1, "downloaded once");
    b.close().await.unwrap();

    // A fresh page: the focus (or the pointer) on New instance starts the download before the
    // click, and the click then opens the form from it.
    let b = Browser::signed_in_at(&worker.url, TOKEN, "#/")
        .await
        .unwrap();
    b.element("#new-instance").await.unwrap();
    assert_eq!(downloads_of(&b, "split_editor").await, 0, "the list alone");
    b.client
        .execute(
            "document.getElementById('new-instance').focus(); return 1",
            vec![],
        )
        .await
        .unwrap();
    let mut fetched = 0;
    for _ in 0..100 {
        fetched = downloads_of(&b, "split_editor").await;
        if fetched > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(fetched, 1, "focus on New instance prefetches the editor");
    b.click("#new-instance").await.unwrap();
    b.element("#instance-name").await.unwrap();
    assert_eq!(downloads_of(&b, "split_editor").await, 1);
    b.close().await.unwrap();
}
