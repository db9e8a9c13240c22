//! A browser benchmark, not a timed test: the dashboard with 1,000 scheduled rows and 1,000
//! runs (synthetic data, `#/bench/1000`), rendered in headless Chromium. It prints how long
//! the render and the first paint after it took, and the time since navigation.

use scheduler_e2e::browser::Browser;
use scheduler_e2e::harness::{WorkerOptions, WorkerProcess};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_of_1000_rows_and_1000_runs_time_to_interactive() {
    let worker = WorkerProcess::start(WorkerOptions::default()).unwrap();
    let b = Browser::start().await.unwrap();
    let mut figures = Vec::new();
    for round in 0..3 {
        b.client
            .goto(&format!("{}/?r={round}#/bench/1000", worker.url))
            .await
            .unwrap();
        let result = b
            .wait_text("#bench-result", 60, |t| t.starts_with("rows="))
            .await
            .unwrap();
        let rows = b.count("#scheduled tbody tr").await.unwrap();
        let runs = b.count("#runs tbody tr").await.unwrap();
        assert_eq!((rows, runs), (1000, 1000), "{result}");
        figures.push(result);
    }
    b.screenshot("app-bench").await.unwrap();
    for f in &figures {
        println!("dashboard benchmark: {f}");
    }
    b.close().await.unwrap();
}
