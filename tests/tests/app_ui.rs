//! The web app in headless Chromium against the worker in workerd: sign-in, the instance form
//! with its live preview and validation, import and export of a configuration file, the
//! dashboard with executed runs (the ClearML stand-in and the scheduled handler), and a share
//! link opened in a fresh browser session. Screenshots of each screen go to target/screenshots/.

use fantoccini::Locator;
use scheduler_e2e::api_client::Api;
use scheduler_e2e::browser::Browser;
use scheduler_e2e::harness::{next_0620_ms as slot_0620, TempDir, WorkerOptions, WorkerProcess};
use scheduler_e2e::standin::{self, demo, StandinConfig};
use serde_json::{json, Value};
use std::time::Duration;

const TOKEN: &str = "app-test-admin-token-0123456789abcdef";
const MINUTE: i64 = 60_000;

fn worker(vars: Vec<(String, String)>) -> WorkerProcess {
    let mut all = vec![("ADMIN_TOKEN".to_string(), TOKEN.to_string())];
    all.extend(vars);
    WorkerProcess::start(WorkerOptions {
        persist_to: None,
        vars: all,
    })
    .unwrap()
}

/// Opens the app and signs in with the admin token.
async fn sign_in(b: &Browser, url: &str) {
    b.client.goto(url).await.unwrap();
    b.fill("#token", TOKEN).await.unwrap();
    b.click("#signin").await.unwrap();
    b.wait_text("#instances-title", 20, |t| {
        t.contains("Scheduler instances")
    })
    .await
    .unwrap();
}

/// The `n`th scheduled-task row of the form (1-based), as a CSS prefix.
fn row(n: usize) -> String {
    format!(".task-row:nth-of-type({n})")
}

async fn value_of(b: &Browser, css: &str) -> String {
    let el = b.client.find(Locator::Css(css)).await.unwrap();
    el.prop("value").await.unwrap().unwrap_or_default()
}

async fn hash(b: &Browser) -> String {
    b.client
        .current_url()
        .await
        .unwrap()
        .fragment()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_then_create_an_instance_through_the_form_with_live_preview_and_validation() {
    let worker = worker(vec![]);
    let b = Browser::start().await.unwrap();

    // Sign-in: a wrong token gets a clear 401 message; the right one opens the list.
    b.client.goto(&worker.url).await.unwrap();
    b.wait_text("#signin-title", 20, |t| t == "Sign in")
        .await
        .unwrap();
    b.screenshot("app-signin").await.unwrap();
    b.fill("#token", "not-the-token").await.unwrap();
    b.click("#signin").await.unwrap();
    let refused = b
        .wait_text("#signin-error", 20, |t| !t.is_empty())
        .await
        .unwrap();
    assert!(refused.contains("401"), "{refused}");
    // A server that could not answer has not checked the token: it is not kept.
    b.client
        .execute(
            "const fetch = window.fetch; let once = true;
             window.fetch = (req, opts) => {
                 if (once && String(req.url || req).endsWith('/api/instances')) {
                     once = false;
                     return Promise.resolve(new Response(
                         '{\"error\": {\"code\": \"storage_unavailable\", \"message\": \"storage unavailable, try again\"}}',
                         {status: 503, headers: {'content-type': 'application/json'}}));
                 }
                 return fetch(req, opts);
             };
             return 1",
            vec![],
        )
        .await
        .unwrap();
    b.fill("#token", TOKEN).await.unwrap();
    b.click("#signin").await.unwrap();
    let unchecked = b
        .wait_text("#signin-error", 20, |t| t.contains("storage unavailable"))
        .await
        .unwrap();
    assert_eq!(b.count(".topnav").await.unwrap(), 0, "{unchecked}");
    b.click("#signin").await.unwrap();
    b.wait_text(".empty", 20, |t| t.contains("No scheduler instances yet"))
        .await
        .unwrap();
    b.screenshot("app-instances-empty").await.unwrap();

    // The form: a daily task and a monthly task, each with its live preview sentence.
    b.click("#new-instance").await.unwrap();
    b.fill("#instance-name", "Nightly retraining")
        .await
        .unwrap();
    b.fill(
        &format!("{} input[id$='-base_task_id']", row(1)),
        demo::TASK_TRAIN,
    )
    .await
    .unwrap();
    b.fill(
        &format!("{} input[id$='-destination_project']", row(1)),
        "Scheduled/retrain",
    )
    .await
    .unwrap();
    b.fill(&format!("{} .time-input", row(1)), "06:20")
        .await
        .unwrap();
    let daily = b
        .wait_text(&format!("{} .sentence", row(1)), 20, |t| {
            t.contains("06:20")
        })
        .await
        .unwrap();
    assert!(
        daily.to_lowercase().contains("day"),
        "daily sentence: {daily}"
    );
    let next = b
        .wait_text(&format!("{} ol.next", row(1)), 20, |t| {
            t.contains("06:20 UTC")
        })
        .await
        .unwrap();
    assert_eq!(next.matches("UTC").count(), 5, "five next runs: {next}");
    let clearml = b.text_of(&format!("{} .clearml", row(1))).await.unwrap();
    assert!(clearml.contains("minute=20, hour=6"), "{clearml}");

    b.click("#add-item").await.unwrap();
    b.fill(
        &format!("{} input[id$='-base_task_id']", row(2)),
        demo::TASK_REPORT,
    )
    .await
    .unwrap();
    let select = b
        .client
        .find(Locator::Css(&format!("{} select.recurrence", row(2))))
        .await
        .unwrap();
    select.select_by_value("monthly").await.unwrap();
    b.fill(&format!("{} input.days", row(2)), "15, last")
        .await
        .unwrap();
    b.fill(&format!("{} .time-input", row(2)), "12:00")
        .await
        .unwrap();
    let monthly = b
        .wait_text(&format!("{} .sentence", row(2)), 20, |t| {
            t.contains("12:00")
        })
        .await
        .unwrap();
    assert!(monthly.contains("15"), "monthly sentence: {monthly}");
    b.screenshot("app-form").await.unwrap();

    // A bad time: its message next to the field, and Save is refused with the errors in place.
    b.fill(&format!("{} .time-input", row(1)), "25:99")
        .await
        .unwrap();
    let msg = b
        .wait_text(&format!("{} .time .field-msg", row(1)), 20, |t| {
            !t.is_empty()
        })
        .await
        .unwrap();
    assert!(
        msg.contains("25:99") || msg.to_lowercase().contains("time"),
        "time message: {msg}"
    );
    b.click("#save").await.unwrap();
    let status = b
        .wait_text("#form-status", 20, |t| t.contains("Not saved"))
        .await
        .unwrap();
    assert!(status.contains("next to the fields"), "{status}");
    assert_eq!(hash(&b).await, "/new", "still on the form");
    let msg_after = b
        .text_of(&format!("{} .time .field-msg", row(1)))
        .await
        .unwrap();
    assert!(
        !msg_after.is_empty(),
        "the message stays next to the field after Save"
    );
    b.screenshot("app-form-errors").await.unwrap();

    // Fixed, it saves and opens the dashboard with both tasks.
    b.fill(&format!("{} .time-input", row(1)), "06:20")
        .await
        .unwrap();
    b.wait_text(&format!("{} .sentence", row(1)), 20, |t| {
        t.contains("06:20")
    })
    .await
    .unwrap();
    b.click("#save").await.unwrap();
    b.wait_text("#dash-title", 20, |t| t.contains("Nightly retraining"))
        .await
        .unwrap();
    let table = b
        .wait_text("#scheduled", 20, |t| t.contains("hour=6"))
        .await
        .unwrap();
    assert!(table.contains(demo::TASK_REPORT), "{table}");
    b.screenshot("app-dashboard-new").await.unwrap();

    // The instances list shows it with its two tasks.
    b.client.goto(&format!("{}/#/", worker.url)).await.unwrap();
    let list = b
        .wait_text("#instances", 20, |t| t.contains("Nightly retraining"))
        .await
        .unwrap();
    assert!(list.contains("Active"), "{list}");
    b.screenshot("app-instances").await.unwrap();
    b.resize(390, 844).await.unwrap();
    b.screenshot("app-instances-phone").await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_a_configuration_file_into_the_form_and_export_it_again() {
    let worker = worker(vec![]);
    let downloads = TempDir::new("downloads").unwrap();
    let b = Browser::start_with_downloads(Some(&downloads.path))
        .await
        .unwrap();
    sign_in(&b, &worker.url).await;

    let config = json!({
        "format": "clearml-task-scheduler/v1",
        "name": "Imported schedule",
        "scheduled_tasks": [
            {"id": "retrain", "base_task_id": demo::TASK_TRAIN, "destination_project": "Scheduled/retrain",
             "queue": "default", "recurrence": "daily", "times": ["06:20", "18:00"],
             "task_parameters": {"Args/batch": "12"}},
            {"id": "report", "base_task_id": demo::TASK_REPORT, "queue": "services",
             "recurrence": "weekly", "weekdays": ["monday", "friday"], "times": ["09:00"],
             "single_instance": true, "execution_limit_hours": 2.5, "catch_up": "skip"}
        ]
    });
    import_into_a_new_form(
        &b,
        &worker.url,
        &downloads.path.join("to-import.json"),
        &config,
    )
    .await;
    assert_eq!(value_of(&b, "#instance-name").await, "Imported schedule");
    assert_eq!(b.count(".task-row").await.unwrap(), 2);
    assert_eq!(
        value_of(&b, &format!("{} input[id$='-queue']", row(2))).await,
        "services"
    );
    b.wait_text(&format!("{} .sentence", row(2)), 20, |t| !t.is_empty())
        .await
        .unwrap();
    b.screenshot("app-form-imported").await.unwrap();

    // Export Configuration from the form (before saving): the same configuration.
    b.click("#export-config").await.unwrap();
    let from_form = wait_download(&downloads.path, "imported-schedule.json").await;
    assert_eq!(from_form, config, "the form's export is the imported file");
    std::fs::remove_file(downloads.path.join("imported-schedule.json")).unwrap();

    // Saved, then exported from the dashboard (the server's canonical file): the same content.
    b.click("#save").await.unwrap();
    b.wait_text("#dash-title", 20, |t| t.contains("Imported schedule"))
        .await
        .unwrap();
    b.click("#export-instance").await.unwrap();
    let exported = wait_download(&downloads.path, "imported-schedule.json").await;
    assert_eq!(
        exported, config,
        "import then export gives back the same configuration"
    );

    // A one-off task whose time has passed is exported, as the server exports a stored
    // configuration whose one-off task has fired (only a save refuses it).
    let fired = json!({
        "format": "clearml-task-scheduler/v1",
        "name": "Fired once",
        "scheduled_tasks": [{"id": "once", "base_task_id": demo::TASK_TRAIN, "queue": "default",
            "recurrence": "none", "date": "2020-01-06", "times": ["06:20"]}]
    });
    import_into_a_new_form(&b, &worker.url, &downloads.path.join("fired.json"), &fired).await;
    b.click("#export-config").await.unwrap();
    assert_eq!(
        wait_download(&downloads.path, "fired-once.json").await,
        fired
    );

    // What the form cannot hold of a file is told, next to its field, not dropped: a weekday
    // it does not know and an "enabled" that is not true or false. A capitalised weekday is
    // a weekday, as the server reads it.
    let odd = json!({
        "format": "clearml-task-scheduler/v1",
        "name": "Odd values",
        "scheduled_tasks": [{"id": "weekly", "base_task_id": demo::TASK_TRAIN, "queue": "default",
            "recurrence": "weekly", "weekdays": ["Monday", "Funday"], "times": ["06:20"],
            "enabled": "yes"}]
    });
    import_into_a_new_form(&b, &worker.url, &downloads.path.join("odd.json"), &odd).await;
    let status = b.text_of("#form-status").await.unwrap();
    assert!(
        status.contains(
            "Imported odd.json, not as it is: 2 problems to fix, shown next to the fields"
        ),
        "{status}"
    );
    let rows = b.text_of("#task-rows").await.unwrap();
    assert!(rows.contains("\"Funday\" is not a weekday"), "{rows}");
    assert!(
        rows.contains("expected true or false, found a string"),
        "{rows}"
    );
    let monday = b
        .client
        .execute(
            "return document.querySelector('#task-rows input.weekday[value=monday]').checked",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(monday, json!(true), "\"Monday\" ticks Monday");
    b.close().await.unwrap();
}

/// Writes `config` to `file`, opens a new form and imports the file into it with the form's
/// Import Configuration.
async fn import_into_a_new_form(b: &Browser, base: &str, file: &std::path::Path, config: &Value) {
    std::fs::write(file, serde_json::to_string_pretty(config).unwrap()).unwrap();
    b.client.goto(&format!("{base}/#/new")).await.unwrap();
    let input = b
        .client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#import-config"))
        .await
        .unwrap();
    input.send_keys(&file.display().to_string()).await.unwrap();
    b.wait_text("#form-status", 20, |t| t.contains("Imported"))
        .await
        .unwrap();
}

/// Waits for a finished download and returns its JSON.
async fn wait_download(dir: &std::path::Path, name: &str) -> Value {
    let path = dir.join(name);
    for _ in 0..100 {
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Ok(v) = serde_json::from_str(&text) {
                return v;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    panic!("no download {name} in {dir:?}; there: {seen:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_an_executed_run_until_it_finishes_and_a_share_link_is_read_only() {
    let clearml = standin::spawn(StandinConfig {
        agent_seconds: 1.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let worker = worker(vec![
        ("CLEARML_API_HOST".into(), clearml.url()),
        ("CLEARML_API_ACCESS_KEY".into(), clearml.access_key().into()),
        ("CLEARML_API_SECRET_KEY".into(), clearml.secret_key().into()),
        (
            "CLEARML_WEB_HOST".into(),
            "http://clearml-web.invalid".into(),
        ),
    ]);
    let api = Api::new(&worker.url, TOKEN);
    let made = api
        .post(
            "/api/instances",
            &json!({
                "format": "clearml-task-scheduler/v1",
                "name": "Nightly retraining",
                "scheduled_tasks": [{"id": "retrain", "base_task_id": demo::TASK_TRAIN,
                    "destination_project": "Scheduled/retrain", "queue": "default",
                    "recurrence": "daily", "times": ["06:20"]}]
            }),
        )
        .await
        .unwrap();
    let id = made["id"].as_str().unwrap().to_string();

    let b = Browser::start().await.unwrap();
    sign_in(&b, &worker.url).await;
    b.click(&format!("a[href='#/instances/{id}']"))
        .await
        .unwrap();
    b.wait_text("#scheduled", 20, |t| t.contains("minute=20, hour=6"))
        .await
        .unwrap();
    b.wait_text(".empty", 20, |t| t.contains("Nothing has run yet"))
        .await
        .unwrap();

    // The scheduled handler launches the slot: the run appears by itself (the dashboard refreshes).
    let slot = slot_0620();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let runs = b.wait_text("#runs", 30, |t| !t.is_empty()).await.unwrap();
    assert!(runs.contains("None") || runs.contains("UTC"), "{runs}");
    let status = b
        .text_of("#runs tbody tr:first-child .status")
        .await
        .unwrap();
    assert!(!status.is_empty(), "a status is shown");
    b.screenshot("app-dashboard-run-started").await.unwrap();
    // The keyboard is on the run's Task ID link: the refreshes that redraw the row keep it there.
    let link = b
        .client
        .execute(
            "const a = document.querySelector('#runs tbody tr:first-child a');
             a.focus(); return a.getAttribute('href')",
            vec![],
        )
        .await
        .unwrap();

    // Later ticks see the stand-in's agent complete it: finished, with a duration.
    let mut done = String::new();
    for k in 1..=20 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        worker.trigger_scheduled(Some(slot + k * MINUTE)).unwrap();
        if let Ok(t) = b
            .wait_text("#runs tbody tr:first-child .status", 6, |t| {
                t.contains("completed")
            })
            .await
        {
            done = t;
            break;
        }
    }
    assert!(
        done.contains("completed"),
        "the run never showed as completed"
    );
    let focused = b
        .client
        .execute(
            "const a = document.activeElement;
             return a.tagName === 'A' && a.closest('#runs') ? a.getAttribute('href') : a.tagName",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, link, "the focus stayed on the run's link");
    let finished = b
        .wait_text("#runs tbody tr:first-child .finished", 10, |t| {
            t.contains("UTC")
        })
        .await
        .unwrap();
    assert!(!finished.contains("None"), "{finished}");
    let log = b.wait_text("#log", 10, |t| !t.is_empty()).await.unwrap();
    assert!(!log.is_empty());
    b.screenshot("app-dashboard").await.unwrap();

    // A share link, opened in a fresh session: the dashboard, read-only.
    b.click("#create-share").await.unwrap();
    b.client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#share-url"))
        .await
        .unwrap();
    // The new link takes the focus, ready to copy.
    let mut focused = Value::Null;
    for _ in 0..20 {
        focused = b
            .client
            .execute("return document.activeElement.id", vec![])
            .await
            .unwrap();
        if focused == json!("share-url") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(focused, json!("share-url"));
    let url = value_of(&b, "#share-url").await;
    // Copy: to the clipboard when the browser allows it, else the link is selected to copy.
    b.click("button[data-copy='share-url']").await.unwrap();
    let label = b
        .wait_text("button[data-copy='share-url']", 10, |t| t != "Copy")
        .await
        .unwrap();
    if label != "Copied" {
        assert_eq!(label, "Selected: press Ctrl+C");
        let selected = b
            .client
            .execute(
                "const i = document.getElementById('share-url'); \
                 return [i.selectionStart, i.selectionEnd, i.value.length]",
                vec![],
            )
            .await
            .unwrap();
        let n = url.chars().count();
        assert_eq!(selected, json!([0, n, n]), "the whole link is selected");
    }
    // A page without clipboard access (plain http on a real host name): the embed code is
    // selected for the user to copy.
    b.client
        .execute(
            "Object.defineProperty(navigator, 'clipboard', {value: undefined}); return 1",
            vec![],
        )
        .await
        .unwrap();
    b.click("button[data-copy='embed-img']").await.unwrap();
    b.wait_text("button[data-copy='embed-img']", 10, |t| {
        t == "Selected: press Ctrl+C"
    })
    .await
    .unwrap();
    let selected = b
        .client
        .execute(
            "const i = document.getElementById('embed-img'); \
             return i.selectionEnd - i.selectionStart == i.value.length && i.value.length > 0",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(selected, json!(true), "the whole embed code is selected");
    assert!(url.contains("/#/share/"), "{url}");
    let embed = value_of(&b, "#embed-img").await;
    assert!(
        embed.starts_with("<img src=\"") && embed.contains("/embed/"),
        "{embed}"
    );
    b.wait_text("#shares", 20, |t| t.contains("Revoke"))
        .await
        .unwrap();
    b.screenshot("app-share-panel").await.unwrap();
    b.resize(390, 844).await.unwrap();
    b.screenshot("app-dashboard-phone").await.unwrap();
    b.close().await.unwrap();

    let fresh = Browser::start().await.unwrap();
    fresh.client.goto(&url).await.unwrap();
    fresh
        .wait_text("#dash-title", 20, |t| t.contains("Nightly retraining"))
        .await
        .unwrap();
    fresh
        .wait_text("#runs", 20, |t| t.contains("completed"))
        .await
        .unwrap();
    for control in [
        "button",
        "input",
        "select",
        "textarea",
        "#edit-instance",
        ".run-now",
        "a[href='#/new']",
    ] {
        assert_eq!(
            fresh.count(control).await.unwrap(),
            0,
            "a share link shows no {control}"
        );
    }
    fresh.screenshot("app-share").await.unwrap();
    fresh.close().await.unwrap();
}
