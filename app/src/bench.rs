//! The benchmark pages:
//! - `#/bench/N` renders the dashboard with N synthetic scheduled rows and N runs and writes
//!   how long that took into `#bench-result` (read by tests/tests/app_bench.rs);
//! - `#/bench/preview/AFTER` is one form row, touched, whose live preview counts from AFTER:
//!   the preview benchmark times keystrokes on it, and the zone test compares its next runs
//!   with `/api/preview`'s.

use crate::dashboard::{DashboardView, Source};
use crate::task_row::{PreviewFrom, TaskRow, TaskRowState};
use crate::util::now_ms;
use leptos::prelude::*;
use scheduler_core::api::{Dashboard, DashboardInstance, LogEntry, Page, Run, ScheduledRow};
use scheduler_core::draft::TaskDraft;
use scheduler_core::{Instant, Level};

pub(crate) fn synthetic(n: usize) -> Dashboard {
    let scheduled = (0..n)
        .map(|i| ScheduledRow {
            item: format!("item-{i}"),
            name: format!("item-{i}"),
            base_task_id: format!("{:032x}", i * 7919),
            project: Some("Scheduled/bench".into()),
            queue: "default".into(),
            recurrence: "daily".into(),
            timezone: "UTC".into(),
            clearml: format!("minute={}, hour={}, day=1", i % 60, i % 24),
            clearml_rows: vec![format!("minute={}, hour={}, day=1", i % 60, i % 24)],
            description: format!("At {:02}:{:02} UTC, every day", i % 24, i % 60),
            next_run: Some(format!("2026-11-26T{:02}:{:02}:00Z", i % 24, i % 60)),
            enabled: i % 5 != 0,
        })
        .collect();
    let statuses = ["completed", "failed", "in_progress", "queued", "stopped"];
    let runs = (0..n)
        .map(|i| Run {
            item: format!("item-{i}"),
            name: None,
            task_id: format!("{:032x}", i * 104729),
            slot: format!("2026-11-25T{:02}:{:02}:00Z", i % 24, i % 60),
            rerun: 0,
            started: format!("2026-11-25T{:02}:{:02}:00Z", i % 24, i % 60),
            finished: (i % 4 != 0).then(|| format!("2026-11-25T{:02}:{:02}:30Z", i % 24, i % 60)),
            status: statuses[i % statuses.len()].into(),
            duration_seconds: Some((i * 37 % 5000) as i64),
            late_seconds: 0,
            link: Some(format!(
                "https://app.clear.ml/projects/*/experiments/{:032x}",
                i * 104729
            )),
        })
        .collect();
    let log = (0..100)
        .map(|i| LogEntry {
            at: "2026-11-25T10:00:00Z".into(),
            level: Level::Info,
            message: format!("line {i}"),
        })
        .collect();
    Dashboard {
        instance: DashboardInstance {
            id: "bench".into(),
            name: format!("Benchmark: {n} rows"),
            ..Default::default()
        },
        read_only: true,
        now: "2026-11-25T10:00:00Z".into(),
        scheduled,
        run_now_pending: Vec::new(),
        runs: Page::of(runs, 1, n.max(1)),
        log: Page::of(log, 1, 100),
        notifications: Vec::new(),
    }
}

#[component]
pub fn Bench(n: usize) -> impl IntoView {
    // The data is at hand when the page starts (as a dashboard's answer is when it arrives):
    // the figure is building it, drawing it, and the browser's layout and paint after.
    let t0 = now_ms();
    let data = RwSignal::new(Some(synthetic(n)));
    let result = RwSignal::new(String::from("running"));
    leptos::task::spawn_local(async move {
        // The views' effects have run: the tables are in the DOM.
        leptos::task::tick().await;
        let rendered = now_ms();
        // The next frame lays them out and paints them; the frame after it starts once that
        // is done (the static peer reads its clock the same way).
        request_animation_frame(move || {
            request_animation_frame(move || {
                let painted = now_ms();
                result.set(format!(
                    "rows={n} runs={n} render_ms={} paint_ms={} since_navigation_ms={}",
                    (rendered - t0) as u64,
                    (painted - t0) as u64,
                    painted as u64
                ));
            })
        });
    });
    view! {
        <p class="card" id="bench-result">{move || result.get()}</p>
        <DashboardView data=data.into() source=Source::Bench
            refresh=Callback::new(|_| ()) older=Callback::new(|_| ())/>
    }
}

#[component]
pub fn PreviewBench(after: Option<String>) -> impl IntoView {
    if let Some(after) = after {
        let ms = js_sys::Date::parse(&after);
        if ms.is_finite() {
            provide_context(PreviewFrom(Instant::from_unix_millis(ms as i64)));
        }
    }
    let row = TaskRowState::new(TaskDraft::default(), true);
    view! {
        <div id="task-rows">
            <TaskRow row index=Signal::derive(|| 0) remove=Callback::new(|_| ())/>
        </div>
    }
}
