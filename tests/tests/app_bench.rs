//! A browser benchmark, not a timed test: the dashboard with 1,000 scheduled rows and 1,000
//! runs (synthetic data, `#/bench/1000`), rendered in headless Chromium. It prints how long
//! the render and the first paint after it took, and the time since navigation:
//! - cold: seven loads, each in a fresh browser profile (nothing cached: the wasm is downloaded
//!   and compiled, as for a first visit);
//! - warm: seven more loads in the last browser (HTTP cache and compiled wasm at hand).
//!
//! Seven of each, for the app and its peer alike: a cold load on this machine varies by a
//! factor of two from one load to the next, and a median of three moved with it. And each of
//! the app's loads is followed by the peer's of the same kind, so a busy moment of the machine
//! weighs on both sides alike, not on one block of seven.
//!
//! The peer, measured the same way in the same run: the page the app drew, saved as a static
//! HTML file (the same tables and stylesheet, no script but the one that reads the clock at the
//! first paint), served from loopback. It is what the browser needs to show the dashboard at
//! all; the app's figure over it is what the app costs.
//!
//! Then how long "Show all" takes to put all 2,000 rows on the page.

use axum::response::Html;
use axum::routing::get;
use scheduler_e2e::browser::Browser;
use scheduler_e2e::harness::{WorkerOptions, WorkerProcess};

/// Loads of each kind (cold, warm; app, static peer).
const ROUNDS: usize = 7;

/// Loads the bench page and returns its result line, after checking the tables it drew, with
/// when the app's wasm had finished downloading (`wasm_ms`, from the browser's Resource Timing:
/// the part of the figure no code of the app can shorten).
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
    let wasm = b
        .client
        .execute(
            "const e = performance.getEntriesByType('resource')
                 .find(e => e.name.endsWith('/pkg/app_bg.wasm'));
             return e ? Math.round(e.responseEnd) : null;",
            vec![],
        )
        .await
        .unwrap();
    let wasm = wasm
        .as_u64()
        .expect("the app's wasm in the page's Resource Timing");
    format!("{result} wasm_ms={wasm}")
}

/// Loads the static peer and returns its result line, after checking it holds the tables.
async fn load_static(b: &Browser, url: &str) -> String {
    b.client.goto(url).await.unwrap();
    let line = b
        .wait_text("#bench-result", 60, |t| t.starts_with("rows="))
        .await
        .unwrap();
    assert_eq!(b.count("#scheduled tbody tr").await.unwrap(), 100);
    line
}

/// The drawn page as a static document: scripts and preloads out, the stylesheet from the
/// worker, and a script that writes the time of the first paint after the page is parsed in
/// the same form as the app's result line.
fn static_peer(page: &str, worker: &str) -> String {
    let mut html = String::new();
    let mut rest = page;
    // Drop every <script>…</script> and the <link> preloads of the app's files.
    while let Some(start) = rest.find("<script") {
        html.push_str(&rest[..start]);
        let end = rest[start..].find("</script>").expect("a closed script") + start;
        rest = &rest[end + "</script>".len()..];
    }
    html.push_str(rest);
    let html: String = html
        .split_inclusive('>')
        .filter(|tag| !(tag.contains("<link") && tag.contains("preload")))
        .collect();
    let html = html.replace(
        "href=\"/styles.css\"",
        &format!("href=\"{worker}/styles.css\""),
    );
    let marker = "<p class=\"card\" id=\"bench-result\">";
    let start = html.find(marker).expect("the result line") + marker.len();
    let end = html[start..].find("</p>").unwrap() + start;
    let clock = "<script>requestAnimationFrame(() => requestAnimationFrame(() => { \
        document.getElementById('bench-result').textContent = \
        'rows=1000 runs=1000 since_navigation_ms=' + Math.round(performance.now()); }));</script>";
    format!("{}running{}", &html[..start], &html[end..])
        .replace("</body>", &format!("{clock}</body>"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_of_1000_rows_and_1000_runs_time_to_interactive() {
    let worker = WorkerProcess::start(WorkerOptions::default()).unwrap();
    // The peer is the page the app draws: drawn once first (not counted), saved as static HTML.
    let first = Browser::start().await.unwrap();
    load(&first, &format!("{}/?r=first#/bench/1000", worker.url)).await;
    let page = static_peer(&first.client.source().await.unwrap(), &worker.url);
    Browser::close(first).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer_url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/", get(move || async move { Html(page.clone()) }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut figures = Vec::new();
    let mut browsers: Option<(Browser, Browser)> = None;
    for round in 0..ROUNDS {
        if let Some((b, p)) = browsers.take() {
            Browser::close(b).await.unwrap();
            Browser::close(p).await.unwrap();
        }
        // Each browser itself is warm (as a visitor's is); the site is not.
        let b = Browser::start().await.unwrap();
        b.client.goto("about:blank").await.unwrap();
        let url = format!("{}/?r=cold{round}#/bench/1000", worker.url);
        figures.push(format!("cold {}", load(&b, &url).await));
        let p = Browser::start().await.unwrap();
        p.client.goto("about:blank").await.unwrap();
        let line = load_static(&p, &format!("{peer_url}/?r=cold{round}")).await;
        figures.push(format!("static cold {line}"));
        browsers = Some((b, p));
    }
    let (b, p) = browsers.unwrap();
    for round in 0..ROUNDS {
        let url = format!("{}/?r=warm{round}#/bench/1000", worker.url);
        figures.push(format!("warm {}", load(&b, &url).await));
        let line = load_static(&p, &format!("{peer_url}/?r=warm{round}")).await;
        figures.push(format!("static warm {line}"));
    }
    p.close().await.unwrap();
    server.abort();

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
