//! A browser benchmark, not a timed test: the dashboard with 1,000 scheduled rows and 1,000
//! runs (synthetic data, `#/bench/1000`), rendered in headless Chromium. It prints how long
//! the render and the first paint after it took, and the time since navigation:
//! - cold: three loads, each in a fresh browser profile (nothing cached: the wasm is downloaded
//!   and compiled, as for a first visit);
//! - warm: three more loads in the last browser (HTTP cache and compiled wasm at hand).
//!
//! Then how long "Show all" takes to put all 2,000 rows on the page.

use scheduler_e2e::browser::Browser;
use scheduler_e2e::harness::{WorkerOptions, WorkerProcess};

/// Loads the bench page and returns its result line, after checking the tables it drew.
async fn load(b: &Browser, url: &str) -> String {
    b.client.goto(url).await.unwrap();
    let result = b
        .wait_text("#bench-result", 60, |t| t.starts_with("rows="))
        .await
        .unwrap();
    // Long tables open on their first 100 rows, with the rest one click away.
    let rows = b.count("#scheduled tbody tr").await.unwrap();
    let runs = b.count("#runs tbody tr").await.unwrap();
    assert_eq!((rows, runs), (100, 100), "{result}");
    let more = b.text_of("#scheduled-all").await.unwrap();
    assert_eq!(more, "Show all 1000");
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_of_1000_rows_and_1000_runs_time_to_interactive() {
    let worker = WorkerProcess::start(WorkerOptions::default()).unwrap();
    let mut figures = Vec::new();
    let mut browser = None;
    for round in 0..3 {
        if let Some(b) = browser.take() {
            Browser::close(b).await.unwrap();
        }
        let b = Browser::start().await.unwrap();
        // The browser itself is warm (as a visitor's is); the site is not.
        b.client.goto("about:blank").await.unwrap();
        let url = format!("{}/?r=cold{round}#/bench/1000", worker.url);
        figures.push(format!("cold {}", load(&b, &url).await));
        browser = Some(b);
    }
    let b = browser.unwrap();
    for round in 0..3 {
        let url = format!("{}/?r=warm{round}#/bench/1000", worker.url);
        figures.push(format!("warm {}", load(&b, &url).await));
    }

    let start = std::time::Instant::now();
    b.click("#scheduled-all").await.unwrap();
    b.click("#runs-all").await.unwrap();
    let mut all = (0, 0);
    for _ in 0..600 {
        all = (
            b.count("#scheduled tbody tr").await.unwrap(),
            b.count("#runs tbody tr").await.unwrap(),
        );
        if all == (1000, 1000) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(all, (1000, 1000), "Show all shows every row");
    let show_all_ms = start.elapsed().as_millis();
    b.screenshot("app-bench").await.unwrap();
    for f in &figures {
        println!("dashboard benchmark: {f}");
    }
    println!("dashboard benchmark: show all 2x1000 rows, seen by WebDriver after {show_all_ms} ms");
    b.close().await.unwrap();
}
