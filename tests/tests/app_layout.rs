//! The app at phone width (390 px) and at 1280 px: no screen scrolls sideways (wide tables
//! scroll inside their own box).

use scheduler_e2e::api_client::Api;
use scheduler_e2e::browser::Browser;
use scheduler_e2e::harness::{WorkerOptions, WorkerProcess};
use serde_json::json;

const TOKEN: &str = "layout-test-admin-token";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_screen_scrolls_sideways_at_phone_or_desktop_width() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let made = api
        .post(
            "/api/instances",
            &json!({"format": "clearml-task-scheduler/v1", "name": "Nightly retraining with a long name",
                "scheduled_tasks": [{"base_task_id": "aabbccddeeff00112233445566778899", "queue": "default",
                "destination_project": "Scheduled/the/rather/long/project/path", "recurrence": "monthly",
                "days": [1, 15, "last"], "times": ["06:20", "18:00"]}]}),
        )
        .await
        .unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    let b = Browser::start().await.unwrap();
    b.sign_in(&worker.url, TOKEN).await.unwrap();
    for (width, height) in [(390, 800), (1280, 900)] {
        b.resize(width, height).await.unwrap();
        for (screen, route) in [
            ("instances", "#/".to_string()),
            ("form", "#/new".to_string()),
            ("dashboard", format!("#/instances/{id}")),
        ] {
            b.client
                .goto(&format!("{}/{route}", worker.url))
                .await
                .unwrap();
            b.wait_text("main h1, main h2", 20, |t| !t.is_empty())
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(800)).await;
            let widths = b
                .client
                .execute(
                    "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]",
                    vec![],
                )
                .await
                .unwrap();
            b.screenshot(&format!("app-layout-{screen}-{width}"))
                .await
                .unwrap();
            let (scroll, client) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
            assert!(
                scroll <= client,
                "{route} at {width} px scrolls sideways: {scroll} > {client}"
            );
        }
    }
    b.close().await.unwrap();
}
