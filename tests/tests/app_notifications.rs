//! Notifications in the app, in headless Chromium: the dashboard shows what was told and whether
//! it arrived; the form shows a saved channel by its hints (never its URL), adds a Slack
//! channel, saves without losing the stored secrets, and "Send test" shows the receiver's
//! answer. What arrived is counted at the receiver.

use std::time::Duration;

use scheduler_e2e::api_client::Api;
use scheduler_e2e::browser::Browser;
use scheduler_e2e::harness::{next_0620_ms, WorkerOptions, WorkerProcess};
use scheduler_e2e::receiver::Receiver;
use scheduler_e2e::standin::{self, demo, StandinConfig};
use serde_json::json;

const TOKEN: &str = "app-notify-admin-token-0123456789abcdef";
const SECRET: &str = "app-test-signing-secret-0123456789";
const HOOK: &str = "/hook/secret-path-abcd";
const SLACK: &str = "/slack/T0/B0/slack-path-wxyz";

async fn value_of(b: &Browser, css: &str) -> String {
    let el = b.element(css).await.unwrap();
    el.prop("value").await.unwrap().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_are_configured_tested_and_their_deliveries_shown() {
    let clearml = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN).clearml(&clearml)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let receiver = Receiver::start().await.unwrap();
    receiver.verify_with(HOOK, SECRET);
    let id = api
        .create(&json!({
            "format": "clearml-task-scheduler/v1",
            "name": "Told",
            "scheduled_tasks": [{"id": "retrain", "base_task_id": demo::TASK_TRAIN,
                "queue": "no-such-queue", "recurrence": "daily", "times": ["06:20"]}],
            "notifications": {"channels": [
                {"id": "ops", "type": "webhook", "url": receiver.url(HOOK), "signing_secret": SECRET}
            ]}
        }))
        .await
        .unwrap();
    // A launch that fails for good is told to ops.
    worker.trigger_scheduled(Some(next_0620_ms())).unwrap();
    for _ in 0..100 {
        if !receiver.received_at(HOOK).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.received_at(HOOK).len(), 1);

    // The dashboard shows it, delivered.
    let b = Browser::signed_in_at(&worker.url, TOKEN, &format!("#/instances/{id}"))
        .await
        .unwrap();
    let row = b
        .wait_text("#notifications tbody tr", 20, |t| t.contains("delivered"))
        .await
        .unwrap();
    assert!(
        row.contains("Launch failed") && row.contains("ops"),
        "{row}"
    );
    b.scroll_to("#notifications").await.unwrap();
    b.screenshot("app-dashboard-notifications").await.unwrap();

    // The form: the saved channel by its hints, the URL itself nowhere on the page.
    b.click("#edit-instance").await.unwrap();
    let url_input = "#channels fieldset.channel:nth-of-type(1) input[type='url']";
    b.element(url_input).await.unwrap();
    for _ in 0..100 {
        if value_of(&b, "#channels fieldset.channel input[id$='-id']").await == "ops" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(value_of(&b, url_input).await, "", "the URL is write-only");
    let placeholder = b
        .element(url_input)
        .await
        .unwrap()
        .attr("placeholder")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(placeholder.contains("/…/abcd"), "{placeholder}");
    let page = b.client.source().await.unwrap();
    assert!(!page.contains("secret-path") && !page.contains(SECRET));

    // Send test on the saved channel shows the receiver's answer.
    b.click_centered("#channels fieldset.channel button[id$='-test']")
        .await
        .unwrap();
    let said = b
        .wait_text("#channels [id$='-test-result']", 20, |t| {
            t.starts_with("Delivered")
        })
        .await
        .unwrap();
    assert!(said.contains("HTTP 200"), "{said}");
    assert_eq!(receiver.received_at(HOOK).len(), 2);
    assert_eq!(receiver.received_at(HOOK)[1].json()["event"], "test");

    // Add a Slack channel that takes only failed launches, and save.
    b.click_centered("#add-channel").await.unwrap();
    let second = "#channels fieldset.channel:nth-of-type(2)";
    b.fill(&format!("{second} input[id$='-id']"), "team")
        .await
        .unwrap();
    b.element(&format!("{second} select"))
        .await
        .unwrap()
        .select_by_value("slack")
        .await
        .unwrap();
    b.fill(&format!("{second} input[type='url']"), &receiver.url(SLACK))
        .await
        .unwrap();
    for event in ["slot_missed", "run_failed", "run_stuck", "recovered"] {
        b.click_centered(&format!("{second} input[id$='-event-{event}']"))
            .await
            .unwrap();
    }
    assert_eq!(
        b.count(&format!("{second} input[type='password']"))
            .await
            .unwrap(),
        0,
        "Slack has no signing secret"
    );
    b.screenshot("app-form-channels").await.unwrap();
    b.click("#save").await.unwrap();
    b.wait_text("#dash-title", 20, |t| t.contains("Told"))
        .await
        .unwrap();

    let saved = api.get(&format!("/api/instances/{id}")).await.unwrap();
    let channels = &saved["config"]["notifications"]["channels"];
    assert_eq!(channels[0]["id"], "ops", "{saved}");
    assert_eq!(channels[1]["id"], "team");
    assert_eq!(channels[1]["type"], "slack");
    assert_eq!(channels[1]["events"], json!(["launch_failed"]));
    assert!(channels[1]["url_hint"]
        .as_str()
        .unwrap()
        .ends_with("/…/wxyz"));
    // The kept webhook still reaches the receiver, signed with the kept secret.
    let test = api
        .post(
            &format!("/api/instances/{id}/channels/ops/test"),
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(test["delivered"], true, "{test}");
    assert!(receiver
        .received_at(HOOK)
        .iter()
        .all(|r| r.signature_ok == Some(true)));
    let test = api
        .post(
            &format!("/api/instances/{id}/channels/team/test"),
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(test["delivered"], true, "{test}");
    assert_eq!(receiver.received_at(SLACK).len(), 1);
    b.close().await.unwrap();
}

/// A channel's problem stays with its channel: shown under it by Save, still under it once a
/// channel above it is removed (problems were matched to channels by position, so it moved to
/// the channel below or vanished), and gone when the channel is edited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_problem_stays_with_its_channel() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let b = Browser::signed_in_at(&worker.url, TOKEN, "#/new")
        .await
        .unwrap();
    let nth = |n: usize| format!("#channels fieldset.channel:nth-of-type({n})");
    for (n, id, url) in [
        (1, "one", "https://hooks.slack.com/services/T/B/one"),
        (2, "two", ""),
    ] {
        b.click_centered("#add-channel").await.unwrap();
        b.fill(&format!("{} input[id$='-id']", nth(n)), id)
            .await
            .unwrap();
        b.element(&format!("{} select", nth(n)))
            .await
            .unwrap()
            .select_by_value("slack")
            .await
            .unwrap();
        if !url.is_empty() {
            b.fill(&format!("{} input[type='url']", nth(n)), url)
                .await
                .unwrap();
        }
    }
    b.click_centered("#save").await.unwrap();
    b.wait_text(&format!("{} .field-msg", nth(2)), 10, |t| t.contains("url"))
        .await
        .unwrap();
    assert_eq!(
        b.text_of(&format!("{} .field-msg", nth(1))).await.unwrap(),
        ""
    );
    b.click_centered(&format!("{} button[id$='-remove']", nth(1)))
        .await
        .unwrap();
    let only = nth(1);
    assert_eq!(
        value_of(&b, &format!("{only} input[id$='-id']")).await,
        "two"
    );
    let msg = b.text_of(&format!("{only} .field-msg")).await.unwrap();
    assert!(
        msg.contains("url"),
        "the problem moved with its channel: {msg:?}"
    );
    b.fill(
        &format!("{only} input[type='url']"),
        "https://hooks.slack.com/services/T/B/two",
    )
    .await
    .unwrap();
    b.wait_text(&format!("{only} .field-msg"), 10, |t| t.is_empty())
        .await
        .unwrap();
    b.close().await.unwrap();
}
