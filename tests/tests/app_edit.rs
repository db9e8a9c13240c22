//! The app in headless Chromium: editing an instance through the form (filled from the saved
//! configuration, changed, saved, checked through the API), local times on hover, and the dark
//! colour scheme.

use fantoccini::actions::{InputSource, MouseActions, PointerAction};
use fantoccini::Locator;
use scheduler_e2e::api_client::Api;
use scheduler_e2e::browser::Browser;
use scheduler_e2e::harness::{WorkerOptions, WorkerProcess};
use scheduler_e2e::standin::demo;
use serde_json::json;

const TOKEN: &str = "app-edit-admin-token-0123456789abcdef";

async fn value_of(b: &Browser, css: &str) -> String {
    let el = b.element(css).await.unwrap();
    el.prop("value").await.unwrap().unwrap_or_default()
}

/// Waits (up to 20 s) until the field `css` holds `want`, e.g. a form's loaded name.
async fn wait_for_value(b: &Browser, css: &str, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while value_of(b, css).await != want {
        assert!(
            std::time::Instant::now() < deadline,
            "{css} never held {want:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
}

/// Creates an instance with one daily 06:20 task (`retrain`), plus `extra` fields on the task.
async fn create_daily(api: &Api, name: &str, extra: serde_json::Value) -> String {
    let mut task = json!({"id": "retrain", "base_task_id": demo::TASK_TRAIN,
        "queue": "default", "recurrence": "daily", "times": ["06:20"]});
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    let made = api
        .post(
            "/api/instances",
            &json!({"format": "clearml-task-scheduler/v1", "name": name, "scheduled_tasks": [task]}),
        )
        .await
        .unwrap();
    made["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_fills_the_form_from_the_saved_configuration_and_saves_the_changes() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let id = create_daily(&api, "Nightly retraining", json!({"catch_up": "skip"})).await;
    let b = Browser::signed_in_at(&worker.url, TOKEN, &format!("#/instances/{id}"))
        .await
        .unwrap();
    b.click("#edit-instance").await.unwrap();

    // The form holds the saved configuration.
    b.wait_text("#form-title", 20, |t| t == "Edit scheduler instance")
        .await
        .unwrap();
    for _ in 0..100 {
        if value_of(&b, "#instance-name").await == "Nightly retraining" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(value_of(&b, "#instance-name").await, "Nightly retraining");
    assert_eq!(b.count(".task-row").await.unwrap(), 1);
    assert_eq!(
        value_of(&b, ".task-row input[id$='-queue']").await,
        "default"
    );
    assert_eq!(value_of(&b, ".task-row .time-input").await, "06:20");
    b.wait_text(".task-row .sentence", 20, |t| !t.is_empty())
        .await
        .unwrap();

    // Change the name and the queue, add a time, save.
    b.fill("#instance-name", "Nightly and evening retraining")
        .await
        .unwrap();
    b.fill(".task-row input[id$='-queue']", "services")
        .await
        .unwrap();
    b.click(".task-row .add-time").await.unwrap();
    let times = b
        .client
        .find_all(Locator::Css(".task-row .time-input"))
        .await
        .unwrap();
    assert_eq!(times.len(), 2);
    times[1].send_keys("18:00").await.unwrap();
    b.screenshot("app-form-edit").await.unwrap();

    // Meanwhile the task is paused from elsewhere (the dashboard of another tab): the form's
    // save does not overwrite that unawares; a second Save does, as the message offers.
    api.post(
        &format!("/api/instances/{id}/tasks/retrain/pause"),
        &json!({}),
    )
    .await
    .unwrap();
    b.click("#save").await.unwrap();
    let status = b
        .wait_text("#form-status", 20, |t| t.contains("saved elsewhere"))
        .await
        .unwrap();
    assert!(status.contains("Press Save again"), "{status}");
    let unchanged = api.get(&format!("/api/instances/{id}")).await.unwrap();
    assert_eq!(
        unchanged["config"]["name"], "Nightly retraining",
        "{unchanged}"
    );
    b.click("#save").await.unwrap();
    b.wait_text("#dash-title", 20, |t| {
        t.contains("Nightly and evening retraining")
    })
    .await
    .unwrap();

    // The server has the edit, and the field the form does not show (catch_up) is kept.
    let saved = api.get(&format!("/api/instances/{id}")).await.unwrap();
    let task = &saved["config"]["scheduled_tasks"][0];
    assert_eq!(task["id"], "retrain", "{saved}");
    assert_eq!(task["queue"], "services", "{saved}");
    assert_eq!(task["times"], json!(["06:20", "18:00"]), "{saved}");
    assert_eq!(task["catch_up"], "skip", "{saved}");
    assert_eq!(saved["config"]["name"], "Nightly and evening retraining");
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dark_system_gets_the_dark_colours() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let b = Browser::start_dark().await.unwrap();
    b.sign_in(&worker.url, TOKEN).await.unwrap();
    b.wait_text("#instances-title", 20, |t| {
        t.contains("Scheduler instances")
    })
    .await
    .unwrap();
    let dark = b
        .client
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(dark, json!(true), "the browser reports a dark system");
    // The page's background is the dark palette's (#12161e), its text the light one.
    let colours = b
        .client
        .execute(
            "const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        colours,
        json!(["rgb(18, 22, 30)", "rgb(230, 233, 239)"]),
        "dark background, light text"
    );
    b.screenshot("app-instances-dark").await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_shows_its_local_time_when_the_pointer_rests_on_it() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let id = create_daily(&api, "Hover", json!({})).await;
    let b = Browser::signed_in_at(&worker.url, TOKEN, &format!("#/instances/{id}"))
        .await
        .unwrap();
    let time = b.element("#scheduled time").await.unwrap();
    let iso = time.attr("datetime").await.unwrap().unwrap_or_default();
    assert!(iso.ends_with(":20:00Z"), "{iso}");
    // No title until the pointer comes (nothing is formatted for times nobody looks at).
    assert_eq!(time.attr("title").await.unwrap(), None);
    let hover = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: time.clone(),
        duration: None,
        x: 0.0,
        y: 0.0,
    });
    b.client.perform_actions(hover).await.unwrap();
    let title = time.attr("title").await.unwrap().unwrap_or_default();
    // The same instant in the browser's own zone, as the browser spells it.
    let expected = b
        .client
        .execute(
            "return 'Local time: ' + new Date(arguments[0]).toString()",
            vec![json!(iso)],
        )
        .await
        .unwrap();
    assert_eq!(json!(title), expected);
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_and_times_come_and_go_with_the_focus_kept_in_the_form() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let b = Browser::signed_in_at(&worker.url, TOKEN, "#/new")
        .await
        .unwrap();
    b.wait_text(".task-row legend", 20, |t| t == "Task 1")
        .await
        .unwrap();
    let focused_now = || async {
        b.client
            .execute(
                "return document.activeElement.id || document.activeElement.className",
                vec![],
            )
            .await
            .unwrap()
    };
    // The focus moves once the page has redrawn (the next frame): what has it then.
    let focused = || async {
        let mut seen = focused_now().await;
        for _ in 0..20 {
            let s = seen.as_str().unwrap_or_default();
            if !s.is_empty() && s != "small remove-time" && s != "small danger remove-item" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            seen = focused_now().await;
        }
        seen
    };
    // The only time cannot be removed; a second one can, and the first then can too.
    let removable = || async {
        b.client
            .execute(
                "return [...document.querySelectorAll('.task-row:first-of-type .remove-time')].map(x => !x.disabled)",
                vec![],
            )
            .await
            .unwrap()
    };
    assert_eq!(removable().await, json!([false]));
    b.click(".task-row .add-time").await.unwrap();
    assert_eq!(b.count(".task-row .time-input").await.unwrap(), 2);
    assert_eq!(removable().await, json!([true, true]));
    let mut new_time = focused().await;
    for _ in 0..20 {
        if new_time.as_str().unwrap_or_default().contains("-time-") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        new_time = focused_now().await;
    }
    assert!(
        new_time.as_str().unwrap().contains("-time-"),
        "the new time has the focus: {new_time}"
    );
    b.click(".task-row .time:nth-of-type(2) .remove-time")
        .await
        .unwrap();
    assert_eq!(b.count(".task-row .time-input").await.unwrap(), 1);
    assert_eq!(removable().await, json!([false]));
    assert_eq!(focused().await, json!("small add-time"));

    // Three rows numbered in order; removing the second renumbers the third. (Add item sits at
    // the end of the rows, where the sticky save bar may cover it until the page scrolls.)
    let add_item = || async {
        b.client
            .execute(
                "document.getElementById('add-item').scrollIntoView({block: 'center'})",
                vec![],
            )
            .await
            .unwrap();
        b.click("#add-item").await.unwrap();
    };
    add_item().await;
    add_item().await;
    b.fill(".task-row:nth-of-type(3) input[id$='-queue']", "third")
        .await
        .unwrap();
    let legends = || async {
        b.client
            .execute("return [...document.querySelectorAll('.task-row > legend')].map(l => l.textContent)", vec![])
            .await
            .unwrap()
    };
    assert_eq!(legends().await, json!(["Task 1", "Task 2", "Task 3"]));
    b.click(".task-row:nth-of-type(2) .remove-item")
        .await
        .unwrap();
    assert_eq!(legends().await, json!(["Task 1", "Task 2"]));
    assert_eq!(
        value_of(&b, ".task-row:nth-of-type(2) input[id$='-queue']").await,
        "third"
    );
    assert_eq!(focused().await, json!("add-item"));
    b.close().await.unwrap();
}

/// From the list, opens instance `id`'s form with the first request whose URL contains `part`
/// failing as a cut connection would; `window.__asks` counts the requests for `part`.
async fn open_form_failing_once(b: &Browser, id: &str, part: &str) {
    b.client
        .execute(
            "const fetch = window.fetch; window.__asks = 0;
             window.fetch = (req, opts) => {
                 if (String(req.url || req).includes(arguments[1]) && window.__asks++ === 0) {
                     return Promise.reject(new TypeError('Failed to fetch'));
                 }
                 return fetch(req, opts);
             };
             location.hash = '#/instances/' + arguments[0] + '/edit';
             return 1",
            vec![json!(id), json!(part)],
        )
        .await
        .unwrap();
}

/// A form whose configuration could not be loaded says why and offers to try again, and takes
/// no edit meanwhile (a row, a channel or an import then would be lost when the configuration
/// lands; an export would be of an empty form).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_that_could_not_load_says_why_and_loads_on_try_again() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let id = create_daily(&api, "Loads on the second try", json!({})).await;
    let b = Browser::signed_in_at(&worker.url, TOKEN, "#/")
        .await
        .unwrap();
    open_form_failing_once(&b, &id, &format!("/api/instances/{id}")).await;
    let why = b.text_of("#load-error").await.unwrap();
    assert!(
        why.starts_with("The configuration could not be loaded"),
        "{why}"
    );
    // Nothing that the load would overwrite (or that needs the configuration) can be used.
    let waiting = [
        "#add-item",
        "#add-channel",
        "#import-config",
        "#export-config",
    ];
    let mut controls = Vec::new();
    for css in waiting {
        let el = b.element(css).await.unwrap();
        assert_eq!(
            el.attr("disabled").await.unwrap().as_deref(),
            Some("true"),
            "{css}"
        );
        controls.push(el);
    }
    b.click("#load-retry").await.unwrap();
    wait_for_value(&b, "#instance-name", "Loads on the second try").await;
    assert_eq!(b.count("#load-error").await.unwrap(), 0);
    for (css, el) in waiting.iter().zip(&controls) {
        assert_eq!(el.attr("disabled").await.unwrap(), None, "{css}");
    }
    b.close().await.unwrap();
}

/// A zone whose data could not be downloaded is asked for again a few seconds later, without
/// the user touching the row: the preview shows its next runs once it lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_that_failed_to_download_is_asked_for_again() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let id = create_daily(&api, "Paris", json!({"timezone": "Europe/Paris"})).await;
    let b = Browser::signed_in_at(&worker.url, TOKEN, "#/")
        .await
        .unwrap();
    open_form_failing_once(&b, &id, "/api/zones/").await;
    b.wait_text("#task-rows", 20, |t| t.contains("Next runs"))
        .await
        .unwrap();
    let asks = b
        .client
        .execute("return window.__asks", vec![])
        .await
        .unwrap();
    assert_eq!(asks, json!(2), "one failed download, one that landed");
    b.close().await.unwrap();
}

/// The alert's text once one is open (within 10 s).
async fn alert_text(b: &Browser) -> String {
    for _ in 0..50 {
        if let Ok(text) = b.client.get_alert_text().await {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("no alert opened");
}

/// Leaving a form with unsaved changes asks first, and staying keeps them; a form left
/// untouched, or just saved, is left without a question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_a_form_with_unsaved_changes_asks_first() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let id = create_daily(&api, "Guarded", json!({})).await;
    let edit = format!("#/instances/{id}/edit");
    let b = Browser::signed_in_at(&worker.url, TOKEN, &edit)
        .await
        .unwrap();
    let loaded = |want: &'static str| wait_for_value(&b, "#instance-name", want);
    let row = format!("tr[data-id='{id}']");
    // Untouched: no question.
    loaded("Guarded").await;
    b.click(".topnav a[href='#/']").await.unwrap();
    b.element(&row).await.unwrap();
    // Edited: the question, and Cancel keeps the page and the edit.
    b.open(&worker.url, &edit).await.unwrap();
    loaded("Guarded").await;
    b.fill("#instance-name", "Guarded, edited").await.unwrap();
    b.click(".topnav a[href='#/']").await.unwrap();
    assert!(alert_text(&b).await.contains("not saved"));
    b.client.dismiss_alert().await.unwrap();
    let hash = b
        .client
        .execute("return location.hash", vec![])
        .await
        .unwrap();
    assert_eq!(hash, json!(edit));
    assert_eq!(value_of(&b, "#instance-name").await, "Guarded, edited");
    // OK leaves, and the edit is gone.
    b.click(".topnav a[href='#/']").await.unwrap();
    alert_text(&b).await;
    b.client.accept_alert().await.unwrap();
    b.element(&row).await.unwrap();
    assert_eq!(
        api.get(&format!("/api/instances/{id}")).await.unwrap()["name"],
        "Guarded"
    );
    // Saved: the form goes to the dashboard without a question.
    b.open(&worker.url, &edit).await.unwrap();
    loaded("Guarded").await;
    b.fill("#instance-name", "Guarded, saved").await.unwrap();
    b.click_centered("#save").await.unwrap();
    b.wait_text("#dash-title", 20, |t| t.contains("Guarded, saved"))
        .await
        .unwrap();
    assert!(
        b.client.get_alert_text().await.is_err(),
        "no question after a save"
    );
    b.close().await.unwrap();
}

/// The server refusing the token in the middle of an edit (its ADMIN_TOKEN was rotated) keeps
/// the form: the sign-in opens as a dialog over the page, with the focus in it and the page
/// inert under it, and once signed in again Save saves what was typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refused_while_editing_keeps_the_form_under_the_sign_in_dialog() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let id = create_daily(&api, "Kept", json!({})).await;
    let b = Browser::signed_in_at(&worker.url, TOKEN, &format!("#/instances/{id}/edit"))
        .await
        .unwrap();
    wait_for_value(&b, "#instance-name", "Kept").await;
    b.fill("#instance-name", "Kept, edited").await.unwrap();
    // The save goes with a token the server no longer accepts.
    b.client
        .execute(
            "const fetch = window.fetch; let once = true;
             window.fetch = (req, opts) => {
                 const method = (opts && opts.method) || req.method;
                 if (!once || method !== 'PUT') return fetch(req, opts);
                 once = false;
                 const refused = new Request(req, opts);
                 refused.headers.set('Authorization', 'Bearer rotated-away');
                 return fetch(refused);
             };",
            vec![],
        )
        .await
        .unwrap();
    b.click_centered("#save").await.unwrap();
    let notice = b
        .wait_text("#signin-dialog #signin-notice", 20, |t| t.contains("401"))
        .await
        .unwrap();
    assert!(notice.contains("keeps what you typed"), "{notice}");
    let state = b
        .client
        .execute(
            "return [document.activeElement.id, document.querySelector('main').inert]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(state, json!(["token", true]));
    assert_eq!(value_of(&b, "#instance-name").await, "Kept, edited");
    assert_eq!(
        api.get(&format!("/api/instances/{id}")).await.unwrap()["name"],
        "Kept"
    );
    b.fill("#signin-dialog #token", TOKEN).await.unwrap();
    b.click("#signin-dialog #signin").await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while b.count("#signin-dialog").await.unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "the dialog stays");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(value_of(&b, "#instance-name").await, "Kept, edited");
    // The focus is back where it was: on Save.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let focused = b
            .client
            .execute("return document.activeElement.id", vec![])
            .await
            .unwrap();
        if focused == json!("save") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "focus on {focused}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.click_centered("#save").await.unwrap();
    b.wait_text("#dash-title", 20, |t| t.contains("Kept, edited"))
        .await
        .unwrap();
    assert_eq!(
        api.get(&format!("/api/instances/{id}")).await.unwrap()["name"],
        "Kept, edited"
    );
    b.close().await.unwrap();
}

/// Back from a form with unsaved changes asks as a link does, and Cancel leaves history as it
/// was: the list the user came from is still one Back away, and Forward after leaving returns
/// to the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_from_an_unsaved_form_asks_and_cancel_keeps_history() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let id = create_daily(&api, "History", json!({})).await;
    let b = Browser::signed_in_at(&worker.url, TOKEN, "#/")
        .await
        .unwrap();
    let row = format!("tr[data-id='{id}']");
    b.element(&row).await.unwrap();
    let edit = format!("#/instances/{id}/edit");
    let run = |script: &'static str| b.client.execute(script, vec![]);
    b.client
        .execute("location.hash = arguments[0]", vec![json!(edit)])
        .await
        .unwrap();
    wait_for_value(&b, "#instance-name", "History").await;
    b.fill("#instance-name", "History, edited").await.unwrap();
    let length = run("return history.length").await.unwrap();
    // Back, then Cancel: still on the form, with the edit, and history unchanged.
    run("history.back()").await.unwrap();
    assert!(alert_text(&b).await.contains("not saved"));
    b.client.dismiss_alert().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while run("return location.hash").await.unwrap() != json!(edit) {
        assert!(std::time::Instant::now() < deadline, "not back on the form");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(value_of(&b, "#instance-name").await, "History, edited");
    assert_eq!(run("return history.length").await.unwrap(), length);
    // Back, then OK: the list, one step back as before.
    run("history.back()").await.unwrap();
    alert_text(&b).await;
    b.client.accept_alert().await.unwrap();
    b.element(&row).await.unwrap();
    assert_eq!(run("return location.hash").await.unwrap(), json!("#/"));
    // Forward: the form again, as saved.
    run("history.forward()").await.unwrap();
    wait_for_value(&b, "#instance-name", "History").await;
    assert_eq!(run("return location.hash").await.unwrap(), json!(edit));
    b.close().await.unwrap();
}

/// A list whose first load the server refused (the tab kept a token the deployment no longer
/// accepts) loads once the user signs in again in the dialog over it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_refused_at_its_load_loads_once_signed_in_again() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let id = create_daily(&api, "Listed after all", json!({})).await;
    let b = Browser::signed_in_at(&worker.url, "a-token-since-rotated-away", "#/")
        .await
        .unwrap();
    b.wait_text("#signin-dialog #signin-notice", 20, |t| t.contains("401"))
        .await
        .unwrap();
    b.fill("#signin-dialog #token", TOKEN).await.unwrap();
    b.click("#signin-dialog #signin").await.unwrap();
    b.element(&format!("tr[data-id='{id}']")).await.unwrap();
    assert_eq!(b.count("#signin-dialog").await.unwrap(), 0);
    b.close().await.unwrap();
}
