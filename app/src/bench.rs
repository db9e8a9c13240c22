//! `#/bench/N`: renders the dashboard tables with N synthetic scheduled rows and N runs and
//! writes how long that took into `#bench-result` (read by tests/tests/app_bench.rs).

use crate::api::{DashInstance, Dashboard, LogItem, Page, Run, ScheduledRow};
use crate::dashboard::DashboardView;
use crate::util::{dynv, now_ms};
use leptos::prelude::*;

fn synthetic(n: usize) -> Dashboard {
    let scheduled = (0..n)
        .map(|i| ScheduledRow {
            item: format!("item-{i}"),
            base_task_id: format!("{:032x}", i * 7919),
            project: Some("Scheduled/bench".into()),
            queue: "default".into(),
            clearml: vec![format!("minute={}, hour={}, day=1", i % 60, i % 24)],
            description: format!("At {:02}:{:02} UTC, every day", i % 24, i % 60),
            next_run: Some(format!("2026-11-26T{:02}:{:02}:00Z", i % 24, i % 60)),
            enabled: i % 5 != 0,
            run_requested: false,
        })
        .collect();
    let statuses = ["completed", "failed", "in_progress", "queued", "stopped"];
    let runs = (0..n)
        .map(|i| Run {
            task_id: format!("{:032x}", i * 104729),
            item: format!("item-{i}"),
            started: format!("2026-11-25T{:02}:{:02}:00Z", i % 24, i % 60),
            finished: (i % 4 != 0).then(|| format!("2026-11-25T{:02}:{:02}:30Z", i % 24, i % 60)),
            status: statuses[i % statuses.len()].into(),
            duration_seconds: Some((i * 37 % 5000).to_string()),
            link: Some(format!(
                "https://app.clear.ml/projects/*/experiments/{:032x}",
                i * 104729
            )),
        })
        .collect();
    let log = (0..100)
        .map(|i| LogItem {
            at: "2026-11-25T10:00:00Z".into(),
            level: "info".into(),
            message: format!("line {i}"),
        })
        .collect();
    Dashboard {
        instance: DashInstance {
            id: "bench".into(),
            name: format!("Benchmark: {n} rows"),
            paused: false,
        },
        scheduled,
        runs: Page {
            items: runs,
            total: n,
        },
        log: Page {
            items: log,
            total: 100,
        },
    }
}

#[component]
pub fn Bench(n: usize) -> impl IntoView {
    let data = RwSignal::new(None::<Dashboard>);
    let result = RwSignal::new(String::from("running"));
    let started = now_ms();
    request_animation_frame(move || {
        let t0 = now_ms();
        data.set(Some(synthetic(n)));
        let rendered = now_ms();
        // The next frame is when the browser has laid out and painted the tables.
        request_animation_frame(move || {
            let painted = now_ms();
            result.set(format!(
                "rows={n} runs={n} render_ms={} paint_ms={} since_navigation_ms={}",
                (rendered - t0) as u64,
                (painted - t0) as u64,
                painted.max(started) as u64
            ));
        });
    });
    view! {
        <p class="card" id="bench-result">{dynv(move || result.get())}</p>
        <DashboardView data=data.read_only() source=crate::dashboard::Source::Bench
            refresh=Callback::new(|_| ()) older=Callback::new(|_| ())/>
    }
}
