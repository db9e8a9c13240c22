//! The form's live preview is computed in the browser by the core (linked into the app), with
//! zone data the worker serves: this checks it gives the worker's own instants, DST gaps and
//! folds included, and (as a benchmark, `#[ignore]`d, run by scripts/bench.sh) how long a
//! keystroke takes to reach the preview against a `/api/preview` round trip.
//!
//! Both drive `#/bench/preview/AFTER`: one form row, touched, its next runs counted from AFTER.

use scheduler_e2e::api_client::Api;
use scheduler_e2e::browser::Browser;
use scheduler_e2e::harness::{WorkerOptions, WorkerProcess};
use serde_json::{json, Value};

/// Sets the row's inputs from a task (`recurrence`, `times`, `cron`, `timezone`), as a user
/// typing would: each input gets its value and an `input` (or `change`) event.
const FILL: &str = r#"
const [task] = arguments;
const row = document.querySelector('.task-row');
const set = (el, value, kind) => { el.value = value; el.dispatchEvent(new Event(kind, {bubbles: true})); };
set(row.querySelector('select.recurrence'), task.recurrence, 'change');
if (task.cron !== undefined) set(row.querySelector("input[id$='-cron']"), task.cron, 'input');
if (task.times !== undefined) set(row.querySelector('.time-input'), task.times[0], 'input');
set(row.querySelector("input[id$='-timezone']"), task.timezone || 'UTC', 'input');
return true;
"#;

/// The next runs the row shows (their `datetime`), once there are five.
const NEXT_RUNS: &str = r#"
return [...document.querySelectorAll('.task-row ol.next time')].map(t => t.getAttribute('datetime'));
"#;

async fn next_runs_in_the_browser(b: &Browser) -> Vec<String> {
    for _ in 0..100 {
        let v = b.client.execute(NEXT_RUNS, vec![]).await.unwrap();
        let runs: Vec<String> = serde_json::from_value(v).unwrap();
        if runs.len() == 5 {
            return runs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let help = b.text_of(".task-row .preview").await.unwrap_or_default();
    panic!("the preview never showed five next runs: {help}");
}

/// (task, after, the first next run the product promises).
fn vectors() -> Vec<(Value, &'static str, &'static str)> {
    vec![
        // Spring forward in New York: 02:30 does not exist on 2024-03-10; it fires at the
        // transition, 03:00 EDT.
        (
            json!({"recurrence": "daily", "times": ["02:30"], "timezone": "America/New_York"}),
            "2024-03-09T12:00:00Z",
            "2024-03-10T07:00:00Z",
        ),
        // Fall back in London: 01:30 happens twice on 2024-10-27; it fires once, the first time.
        (
            json!({"recurrence": "cron", "cron": "30 1 * * *", "timezone": "Europe/London"}),
            "2024-10-26T12:00:00Z",
            "2024-10-27T00:30:00Z",
        ),
        // Lord Howe moves by 30 minutes.
        (
            json!({"recurrence": "cron", "cron": "15 2 * * *", "timezone": "Australia/Lord_Howe"}),
            "2024-10-05T12:00:00Z",
            "2024-10-05T15:30:00Z",
        ),
        // Chatham's 02:45 -> 03:45 gap.
        (
            json!({"recurrence": "daily", "times": ["03:00"], "timezone": "Pacific/Chatham"}),
            "2024-09-28T12:00:00Z",
            "2024-09-28T14:00:00Z",
        ),
        // A fixed offset whose name needs encoding in a URL (`+` is UTC-5 in POSIX's sign).
        (
            json!({"recurrence": "daily", "times": ["06:20"], "timezone": "Etc/GMT+5"}),
            "2024-01-01T00:00:00Z",
            "2024-01-01T11:20:00Z",
        ),
        // No zone at all, over a leap day.
        (
            json!({"recurrence": "daily", "times": ["12:00"], "timezone": "UTC"}),
            "2024-02-28T13:00:00Z",
            "2024-02-29T12:00:00Z",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_preview_gives_the_workers_instants_across_dst_gaps_and_folds() {
    let worker = WorkerProcess::start(WorkerOptions::default()).unwrap();
    let api = Api::new(&worker.url, "");
    let b = Browser::start().await.unwrap();
    for (task, after, first) in vectors() {
        b.client
            .goto(&format!("{}/#/bench/preview/{after}", worker.url))
            .await
            .unwrap();
        b.wait_text(".task-row legend", 20, |t| t == "Task 1")
            .await
            .unwrap();
        b.client.execute(FILL, vec![task.clone()]).await.unwrap();
        let in_browser = next_runs_in_the_browser(&b).await;

        let mut body = task.clone();
        body["after"] = json!(after);
        body["count"] = json!(5);
        let answer = api.post("/api/preview", &body).await.unwrap();
        let from_worker: Vec<String> = serde_json::from_value(answer["next"].clone()).unwrap();
        assert_eq!(in_browser, from_worker, "{task} after {after}");
        assert_eq!(in_browser[0], first, "{task} after {after}");
    }
    // A name that is not a zone: the worker's own message, typo hint included.
    b.client
        .goto(&format!("{}/#/bench/preview", worker.url))
        .await
        .unwrap();
    b.wait_text(".task-row legend", 20, |t| t == "Task 1")
        .await
        .unwrap();
    let typo = json!({"recurrence": "daily", "times": ["06:20"], "timezone": "Europe/Londn"});
    b.client.execute(FILL, vec![typo]).await.unwrap();
    let msg = b
        .wait_text(".task-row [id$='-timezone-msg']", 20, |t| !t.is_empty())
        .await
        .unwrap();
    assert!(msg.contains("did you mean \"Europe/London\""), "{msg}");
    b.close().await.unwrap();
}

/// Times `rounds` keystrokes on the row (alternating two values of one input) from the
/// `input` event to the preview's change on the page, in the page's own clock.
const TIME_KEYSTROKES: &str = r#"
const [selector, values, rounds, done] = arguments;
const input = document.querySelector(selector);
const preview = document.querySelector('.task-row .preview');
const times = [];
let i = 0;
const next = () => {
  if (i === rounds) { done(times); return; }
  const value = values[i % values.length];
  i += 1;
  const observer = new MutationObserver(() => {
    const t1 = performance.now();
    observer.disconnect();
    times.push(t1 - t0);
    requestAnimationFrame(() => setTimeout(next, 0));
  });
  observer.observe(preview, {subtree: true, childList: true, characterData: true, attributes: true});
  input.value = value;
  const t0 = performance.now();
  input.dispatchEvent(new Event('input', {bubbles: true}));
};
next();
"#;

/// Times `rounds` round trips of `/api/preview` for `task`, from the page.
const TIME_API: &str = r#"
const [task, rounds, done] = arguments;
const times = [];
(async () => {
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const resp = await fetch('/api/preview', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(task)});
    await resp.json();
    times.push(performance.now() - t0);
  }
  done(times);
})();
"#;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: scripts/bench.sh runs it"]
async fn live_preview_keystroke_to_preview_against_the_api_round_trip() {
    let worker = WorkerProcess::start(WorkerOptions::default()).unwrap();
    let b = Browser::start().await.unwrap();
    const ROUNDS: usize = 41;
    let cases = [
        (
            "daily",
            json!({"recurrence": "daily", "times": ["06:20"]}),
            ".task-row .time-input",
            json!(["06:21", "06:20"]),
        ),
        (
            "cron",
            json!({"recurrence": "cron", "cron": "*/15 * * * *"}),
            ".task-row input[id$='-cron']",
            json!(["*/20 * * * *", "*/15 * * * *"]),
        ),
        (
            "zoned",
            json!({"recurrence": "daily", "times": ["06:20"], "timezone": "Europe/London"}),
            ".task-row .time-input",
            json!(["06:21", "06:20"]),
        ),
    ];
    for (name, task, input, values) in cases {
        b.client
            .goto(&format!("{}/#/bench/preview", worker.url))
            .await
            .unwrap();
        b.wait_text(".task-row legend", 20, |t| t == "Task 1")
            .await
            .unwrap();
        b.client.execute(FILL, vec![task.clone()]).await.unwrap();
        next_runs_in_the_browser(&b).await;
        let local: Vec<f64> = serde_json::from_value(
            b.client
                .execute_async(TIME_KEYSTROKES, vec![json!(input), values, json!(ROUNDS)])
                .await
                .unwrap(),
        )
        .unwrap();
        let api: Vec<f64> = serde_json::from_value(
            b.client
                .execute_async(TIME_API, vec![task, json!(ROUNDS)])
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(local.len(), ROUNDS, "every keystroke changed the preview");
        println!(
            "preview benchmark: {name} keystroke_to_preview_median_ms={:.2} api_round_trip_median_ms={:.2} rounds={ROUNDS}",
            median(local),
            median(api)
        );
    }
    b.close().await.unwrap();
}
