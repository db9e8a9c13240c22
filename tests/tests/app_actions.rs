//! The app's buttons do what they say, checked through the API: pause and resume an instance
//! from the list, run a task now and pause it from the dashboard, revoke a share link, delete
//! an instance after confirming.

use scheduler_e2e::api_client::Api;
use scheduler_e2e::browser::Browser;
use scheduler_e2e::harness::{WorkerOptions, WorkerProcess};
use serde_json::{json, Value};
use std::time::Duration;

const TOKEN: &str = "actions-test-admin-token";

/// Polls `check` on the API's answer for up to 10 s (the app acts asynchronously).
async fn eventually(api: &Api, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..50 {
        let (status, body) = api.send(reqwest::Method::GET, path, None).await.unwrap();
        last = json!({"status": status, "body": body});
        if check(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: {last}");
}

/// The focused element as `class|text`, once it is `want` (or what it is after 2 s).
async fn focused_within(b: &Browser, want: &str) -> String {
    let mut focused = String::new();
    for _ in 0..20 {
        focused = b
            .client
            .execute(
                "const a = document.activeElement; return a.className + '|' + a.textContent",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        if focused == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    focused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_dashboard_and_share_buttons_act_through_the_api() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let made = api
        .post(
            "/api/instances",
            &json!({"format": "clearml-task-scheduler/v1", "name": "Buttons",
                "scheduled_tasks": [{"id": "retrain", "base_task_id": "aabbccddeeff00112233445566778899",
                "queue": "default", "recurrence": "daily", "times": ["06:20"]}]}),
        )
        .await
        .unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    let share = api
        .post(&format!("/api/instances/{id}/shares"), &json!({}))
        .await
        .unwrap();
    let b = Browser::start().await.unwrap();
    b.sign_in(&worker.url, TOKEN).await.unwrap();

    // The list: pause, then resume.
    b.client.goto(&format!("{}/#/", worker.url)).await.unwrap();
    let row = format!("tr[data-id='{id}']");
    b.click(&format!("{row} button.small:not(.danger)"))
        .await
        .unwrap();
    let path = format!("/api/instances/{id}");
    eventually(&api, &path, "paused from the list", |v| {
        v["body"]["paused"] == true
    })
    .await;
    b.wait_text(&format!("{row} .badge"), 10, |t| t == "Paused")
        .await
        .unwrap();
    // The list is redrawn; the row's new Resume button has the focus.
    assert_eq!(
        focused_within(&b, "small toggle|Resume").await,
        "small toggle|Resume"
    );
    b.click(&format!("{row} button.small:not(.danger)"))
        .await
        .unwrap();
    eventually(&api, &path, "resumed from the list", |v| {
        v["body"]["paused"] == false
    })
    .await;

    // The dashboard: run now, then pause the task.
    b.client
        .goto(&format!("{}/#/instances/{id}", worker.url))
        .await
        .unwrap();
    b.click("#scheduled .run-now").await.unwrap();
    eventually(&api, &path, "run now recorded", |v| {
        v["body"]["run_now"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["item"] == "retrain"))
    })
    .await;
    // The row says so until the next tick launches it.
    b.wait_text("#scheduled tr[data-item='retrain']", 10, |t| {
        t.contains("Run requested")
    })
    .await
    .unwrap();
    // Marked now: while only the row's state changes, the row stays the same element.
    b.client
        .execute(
            "document.querySelector('#scheduled tr[data-item=\"retrain\"]').dataset.seen = '1'",
            vec![],
        )
        .await
        .unwrap();
    b.click("#scheduled .task-toggle").await.unwrap();
    eventually(&api, &path, "task paused", |v| {
        v["body"]["config"]["scheduled_tasks"][0]["enabled"] == false
    })
    .await;
    // Pause becomes Resume in place and the button keeps the focus, so a keyboard user keeps
    // their place.
    b.wait_text("#scheduled .task-toggle", 10, |t| t == "Resume")
        .await
        .unwrap();
    assert_eq!(
        focused_within(&b, "small task-toggle|Resume").await,
        "small task-toggle|Resume"
    );
    let seen =
        "return document.querySelector('#scheduled tr[data-item=\"retrain\"]').dataset.seen || ''";
    let marked = b.client.execute(seen, vec![]).await.unwrap();
    assert_eq!(marked, json!("1"), "paused in place, not drawn anew");
    // An edit made elsewhere (here through the API) changes the row's setting: the next refresh
    // draws the row anew, with its new queue and its state (paused) kept.
    let mut config = api.get(&path).await.unwrap()["config"].clone();
    config["scheduled_tasks"][0]["queue"] = json!("gpu-nightly");
    let saved = api
        .send(reqwest::Method::PUT, &path, Some(&config))
        .await
        .unwrap();
    assert_eq!(saved.0, 200, "{}", saved.1);
    let redrawn = b
        .wait_text("#scheduled tr[data-item='retrain']", 15, |t| {
            t.contains("gpu-nightly")
        })
        .await
        .unwrap();
    assert!(redrawn.contains("Paused"), "{redrawn}");
    let marked = b.client.execute(seen, vec![]).await.unwrap();
    assert_eq!(
        marked,
        json!(""),
        "a row whose setting changed is a new element"
    );

    // Share: the link made through the API is listed and revoked from the page.
    b.click("#shares .revoke").await.unwrap();
    let shares = format!("/api/instances/{id}/shares");
    eventually(&api, &shares, "share revoked", |v| {
        v["body"]["shares"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    // The Revoke button went with its link: the focus is on Create share link.
    assert_eq!(
        focused_within(&b, "|Create share link").await,
        "|Create share link"
    );
    let token = share["token"].as_str().unwrap();
    let (status, _) = api
        .send(reqwest::Method::GET, &format!("/api/share/{token}"), None)
        .await
        .unwrap();
    assert_eq!(status, 404, "a revoked link no longer opens");

    // The list: delete asks first.
    b.client.goto(&format!("{}/#/", worker.url)).await.unwrap();
    b.click(&format!("{row} button.danger")).await.unwrap();
    assert_eq!(
        api.get(&path).await.unwrap()["id"],
        id.as_str(),
        "not deleted before confirming"
    );
    b.click(&format!("{row} .confirm-delete")).await.unwrap();
    eventually(&api, &path, "deleted", |v| v["status"] == 404).await;
    b.close().await.unwrap();
}

/// Writes `content` to `path` and chooses it in the list's Import configuration file picker.
async fn choose_file(b: &Browser, path: &std::path::Path, content: &Value) {
    std::fs::write(path, content.to_string()).unwrap();
    let input = b.element("#import-instance").await.unwrap();
    input.send_keys(&path.display().to_string()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_from_the_list_shows_every_problem_or_opens_the_new_dashboard() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let files = scheduler_e2e::harness::TempDir::new("import").unwrap();
    let b = Browser::signed_in_at(&worker.url, TOKEN, "#/")
        .await
        .unwrap();

    // A file with a bad time and an unknown field: nothing is created, each problem is listed.
    let config = json!({"format": "clearml-task-scheduler/v1", "name": "Bad",
        "scheduled_tasks": [{"base_task_id": "aabbccddeeff00112233445566778899", "queue": "default",
        "recurrence": "daily", "times": ["25:00"], "colour": "red"}]});
    choose_file(&b, &files.path.join("bad.json"), &config).await;
    let errors = b
        .wait_text("#import-errors", 20, |t| t.contains("not imported"))
        .await
        .unwrap();
    assert!(errors.contains("bad.json"), "{errors}");
    assert!(errors.contains("scheduled_tasks[0].times[0]"), "{errors}");
    assert!(errors.contains("scheduled_tasks[0].colour"), "{errors}");
    b.screenshot("app-instances-import-errors").await.unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let list = api.get("/api/instances").await.unwrap();
    assert_eq!(list["instances"], json!([]), "all or nothing: {list}");

    // ClearML SDK's own `schedule` list imports too, and opens the new instance's dashboard.
    let schedule = json!([{"base_task_id": "aabbccddeeff00112233445566778899", "queue": "default",
        "minute": 20, "hour": 6, "day": 1, "name": "retrain"}]);
    choose_file(&b, &files.path.join("sdk-schedule.json"), &schedule).await;
    let table = b
        .wait_text("#scheduled", 20, |t| t.contains("minute=20, hour=6"))
        .await
        .unwrap();
    assert!(
        table.contains("aabbccddeeff00112233445566778899"),
        "{table}"
    );
    let list = api.get("/api/instances").await.unwrap();
    assert_eq!(
        list["instances"].as_array().map(Vec::len),
        Some(1),
        "{list}"
    );
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_runs_and_log_lines_are_one_click_away() {
    use scheduler_e2e::standin::{self, demo, StandinConfig};
    let clearml = standin::spawn(StandinConfig::default()).await.unwrap();
    // Every launch of the tick below fits in one tick.
    let opts = WorkerOptions::admin(TOKEN)
        .clearml(&clearml)
        .var("SUBREQUEST_BUDGET", "1000");
    let worker = WorkerProcess::start(opts).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    // 60 daily tasks at 06:20: one tick launches 60 runs and logs more than 50 lines.
    let tasks: Vec<Value> = (0..60)
        .map(|i| {
            json!({"id": format!("t{i}"), "base_task_id": demo::TASK_TRAIN, "queue": "default",
                "recurrence": "daily", "times": ["06:20"]})
        })
        .collect();
    let made = api
        .post(
            "/api/instances",
            &json!({"format": "clearml-task-scheduler/v1", "name": "Many", "scheduled_tasks": tasks}),
        )
        .await
        .unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    let slot = scheduler_e2e::harness::next_0620_ms();
    worker.trigger_scheduled(Some(slot)).unwrap();
    let dash = format!("/api/instances/{id}/dashboard");
    eventually(&api, &dash, "60 runs launched", |v| {
        v["body"]["runs"]["total"] == 60
    })
    .await;

    let b = Browser::signed_in_at(&worker.url, TOKEN, &format!("#/instances/{id}"))
        .await
        .unwrap();
    // The newest 50 of each, and a button for the rest.
    let note = b
        .wait_text("#runs-more", 20, |t| t == "Show older runs")
        .await
        .unwrap();
    assert_eq!(note, "Show older runs");
    assert_eq!(b.count("#runs tbody tr").await.unwrap(), 50);
    assert_eq!(b.count("#log li").await.unwrap(), 50);
    b.click("#runs-more").await.unwrap();
    for _ in 0..50 {
        if b.count("#runs tbody tr").await.unwrap() == 60 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(b.count("#runs tbody tr").await.unwrap(), 60, "every run");
    assert_eq!(b.count("#runs-more").await.unwrap(), 0, "nothing older");
    b.click("#log-more").await.unwrap();
    for _ in 0..50 {
        if b.count("#log li").await.unwrap() > 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let lines = b.count("#log li").await.unwrap();
    assert!(lines > 50, "older log lines shown: {lines}");
    // More are left (each launch logs several lines): the button, redrawn, has the focus.
    assert_eq!(
        focused_within(&b, "link|Show older log lines").await,
        "link|Show older log lines"
    );
    b.screenshot("app-dashboard-older").await.unwrap();
    b.close().await.unwrap();
}

/// A worker with one instance named `name`, of one daily task (`retrain`): the API and the id.
async fn worker_with_one_task(name: &str) -> (WorkerProcess, Api, String) {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let api = Api::new(&worker.url, TOKEN);
    let id = api
        .create(&json!({"format": "clearml-task-scheduler/v1", "name": name,
            "scheduled_tasks": [{"id": "retrain", "base_task_id": "aabbccddeeff00112233445566778899",
            "queue": "default", "recurrence": "daily", "times": ["06:20"]}]}))
        .await
        .unwrap();
    (worker, api, id)
}

/// Holds back the answers of requests whose URL contains `part` by `ms`, and records what the
/// page reports as errors (a panic of the app is one) in `window.__errors`.
const SLOW_ANSWERS_AND_ERRORS: &str = "
    window.__errors = [];
    const report = console.error;
    console.error = (...args) => { window.__errors.push(args.join(' ')); report(...args); };
    window.addEventListener('error', e => window.__errors.push(String(e.message)));
    const fetch = window.fetch;
    window.fetch = (req, opts) => String(req.url || req).includes(arguments[0])
        ? new Promise(done => setTimeout(done, arguments[1])).then(() => fetch(req, opts))
        : fetch(req, opts);
    return 1";

/// An action's answer that arrives after the user left its page acts on nothing (the page's
/// state is gone) and stops nothing: the app keeps working. Both from the dashboard and from
/// the list, whose answers call back into the page that asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_landing_after_its_page_was_left_leaves_the_app_working() {
    let (worker, api, id) = worker_with_one_task("Slow answers").await;
    let path = format!("/api/instances/{id}");
    let b = Browser::signed_in_at(&worker.url, TOKEN, &format!("#/instances/{id}"))
        .await
        .unwrap();
    let slow = |part: &str| {
        b.client
            .execute(SLOW_ANSWERS_AND_ERRORS, vec![json!(part), json!(1500)])
    };
    let errors = "return window.__errors";

    // The dashboard: pause the task, and leave for the list before the answer.
    b.wait_text("#scheduled .task-toggle", 20, |t| t == "Pause")
        .await
        .unwrap();
    slow("/tasks/").await.unwrap();
    b.click("#scheduled .task-toggle").await.unwrap();
    b.client
        .execute("location.hash = '#/'; return 1", vec![])
        .await
        .unwrap();
    eventually(&api, &path, "the task paused", |v| {
        v["body"]["config"]["scheduled_tasks"][0]["enabled"] == false
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.client.execute(errors, vec![]).await.unwrap(), json!([]));

    // The list: pause the instance, and open its dashboard before the answer.
    let row = format!("tr[data-id='{id}']");
    b.wait_text(&format!("{row} button.small:not(.danger)"), 20, |t| {
        t == "Pause"
    })
    .await
    .unwrap();
    slow("/pause").await.unwrap();
    b.click(&format!("{row} button.small:not(.danger)"))
        .await
        .unwrap();
    b.client
        .execute(
            &format!("location.hash = '#/instances/{id}'; return 1"),
            vec![],
        )
        .await
        .unwrap();
    eventually(&api, &path, "the instance paused", |v| {
        v["body"]["paused"] == true
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.client.execute(errors, vec![]).await.unwrap(), json!([]));
    // The app still answers the user: the dashboard shows both pauses.
    b.wait_text("#dash-title", 20, |t| t.contains("Paused"))
        .await
        .unwrap();
    b.wait_text("#scheduled .task-toggle", 20, |t| t == "Resume")
        .await
        .unwrap();
    b.close().await.unwrap();
}

/// A second click on a dashboard button while its request is still out sends nothing more (a
/// double click is one Pause, one Run now).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_click_while_the_first_is_answered_sends_nothing() {
    let (worker, _api, id) = worker_with_one_task("Double clicks").await;
    let b = Browser::signed_in_at(&worker.url, TOKEN, &format!("#/instances/{id}"))
        .await
        .unwrap();
    b.wait_text("#scheduled .task-toggle", 20, |t| t == "Pause")
        .await
        .unwrap();
    // Task actions are answered after 1 s, and counted.
    b.client
        .execute(
            "const fetch = window.fetch; window.__sent = 0;
             window.fetch = (req, opts) => {
                 if (!String(req.url || req).includes('/tasks/')) return fetch(req, opts);
                 window.__sent += 1;
                 return new Promise(done => setTimeout(done, 1000)).then(() => fetch(req, opts));
             };
             return 1",
            vec![],
        )
        .await
        .unwrap();
    b.click("#scheduled .task-toggle").await.unwrap();
    b.click("#scheduled .task-toggle").await.unwrap();
    b.wait_text("#scheduled .task-toggle", 20, |t| t == "Resume")
        .await
        .unwrap();
    let sent = b
        .client
        .execute("return window.__sent", vec![])
        .await
        .unwrap();
    assert_eq!(sent, json!(1), "one request for a double click");
    b.close().await.unwrap();
}

/// "Show all" goes away with its line once pressed: the focus goes to the table it filled (a
/// place the refreshes do not redraw), not back to the top of the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_all_hands_the_focus_to_the_table_it_filled() {
    let worker = WorkerProcess::start(WorkerOptions::admin(TOKEN)).unwrap();
    let b = Browser::start().await.unwrap();
    b.open(&worker.url, "#/bench/300").await.unwrap();
    b.wait_text("#bench-result", 60, |t| t.starts_with("rows="))
        .await
        .unwrap();
    for (button, table) in [("#scheduled-all", "scheduled"), ("#runs-all", "runs")] {
        b.click(button).await.unwrap();
        let mut focused = json!(null);
        for _ in 0..50 {
            focused = b
                .client
                .execute("return document.activeElement.id", vec![])
                .await
                .unwrap();
            if focused == json!(table) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(focused, json!(table), "{button}: the focus on the table");
        let rows = format!("#{table} tbody tr");
        assert_eq!(b.count(&rows).await.unwrap(), 300);
    }
    b.close().await.unwrap();
}
