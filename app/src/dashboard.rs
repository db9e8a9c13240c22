//! The dashboard: Scheduled Tasks, Executed Tasks, the Scheduler Log and the timeline plot,
//! refreshed every few seconds. Through a share link it is read-only (no edit controls).
//!
//! The long tables are HTML text built by [`crate::rows`] and memoized, so a refresh that
//! changes nothing touches no DOM, and one that does replaces only the table that changed:
//! the page's scroll position and the share panel's inputs survive.

use crate::api::{Api, Dashboard as Dash};
use crate::rows;
use crate::util::{download, dynv, file_name, on, show};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use wasm_bindgen::JsCast;

const REFRESH: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// The signed-in owner: every control.
    Owner(String),
    /// A share link: read-only.
    Share(String),
    /// Synthetic data (the benchmark): read-only, no timeline.
    Bench,
}

impl Source {
    fn owner(&self) -> Option<&str> {
        match self {
            Source::Owner(id) => Some(id),
            _ => None,
        }
    }
}

#[component]
pub fn Dashboard(source: Source) -> impl IntoView {
    let api = expect_context::<Api>();
    let data = RwSignal::new(None::<Dash>);
    let error = RwSignal::new(None::<String>);
    let busy = StoredValue::new(false);
    let src = StoredValue::new(source.clone());
    let load = move || {
        if busy.get_value() {
            return;
        }
        busy.set_value(true);
        spawn_local(async move {
            let answer = match src.get_value() {
                Source::Owner(id) => api.dashboard(&id).await,
                Source::Share(token) => api.shared_dashboard(&token).await,
                Source::Bench => return,
            };
            match answer {
                Ok(d) => {
                    error.set(None);
                    if data.with_untracked(|old| old.as_ref() != Some(&d)) {
                        data.set(Some(d));
                    }
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set_value(false);
        });
    };
    load();
    if let Ok(h) = set_interval_with_handle(load, REFRESH) {
        on_cleanup(move || h.clear());
    }
    let refresh = Callback::new(move |_: ()| load());
    view! {
        {dynv(move || error.get().map(|e| view! { <p class="error-box" role="alert" id="dashboard-error">{e}</p> }))}
        {show(move || data.with(Option::is_some),
            move || view! { <DashboardView data=data.read_only() source=source.clone() refresh=refresh/> }.into_any(),
            move || (error.with(Option::is_none)).then(|| view! { <p class="card muted loading">"Loading the dashboard…"</p> }).into_any())}
    }
}

/// The dashboard's content for an answer of `/api/instances/{id}/dashboard` (or a share).
#[component]
pub fn DashboardView(
    data: ReadSignal<Option<Dash>>,
    source: Source,
    refresh: Callback<()>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let instance = Memo::new(move |_| {
        data.with(|d| d.as_ref().map(|d| d.instance.clone()).unwrap_or_default())
    });
    let owner = StoredValue::new(source.owner().map(str::to_string));
    let is_owner = owner.with_value(Option::is_some);
    let note = RwSignal::new(None::<String>);
    let act = move |item: Option<String>, action: &'static str| {
        let Some(id) = owner.get_value() else { return };
        spawn_local(async move {
            let res = match &item {
                Some(item) => api.task_action(&id, item, action).await,
                None => api.set_instance(&id, action).await,
            };
            note.set(Some(match res {
                Ok(()) if action == "run" => {
                    "Run requested: it starts at the next tick.".to_string()
                }
                Ok(()) => format!("Done: {action}."),
                Err(e) => e.message,
            }));
            refresh.run(());
        });
    };
    let export = move |_| {
        let Some(id) = owner.get_value() else { return };
        spawn_local(async move {
            match api.export(&id).await {
                Ok(text) => download(
                    &file_name(&instance.get_untracked().name),
                    &text,
                    "application/json",
                ),
                Err(e) => note.set(Some(e.message)),
            }
        });
    };
    let owner_head = is_owner.then(|| {
        let edit = format!("#/instances/{}/edit", crate::api::seg(&owner.get_value().unwrap_or_default()));
        view! {
            <div class="actions">
                <a class="button" href=edit id="edit-instance">"Edit"</a>
                <button id="toggle-instance" on:click=on(move |_| {
                    act(None, if instance.get_untracked().paused { "resume" } else { "pause" })
                })>{dynv(move || if instance.get().paused { "Resume instance" } else { "Pause instance" })}</button>
                <button id="export-instance" on:click=on(export)>"Export configuration"</button>
            </div>
        }
    });
    let is_empty = move |len: fn(&Dash) -> usize| {
        Memo::new(move |_| data.with(|d| d.as_ref().is_none_or(|d| len(d) == 0)))
    };
    let no_scheduled = is_empty(|d| d.scheduled.len());
    let no_runs = is_empty(|d| d.runs.items.len());
    let no_log = is_empty(|d| d.log.items.len());
    // Long tables show their first rows and a button for the rest: a dashboard of a thousand
    // rows is on screen at once (the browser's layout of every row is what costs), and nothing
    // is hidden from who asks.
    let scheduled_shown = RwSignal::new(FIRST_ROWS);
    let runs_shown = RwSignal::new(FIRST_ROWS);
    // Each table's rows as one HTML text: a refresh that changes nothing leaves the DOM alone.
    let scheduled_html = Memo::new(move |_| {
        let n = scheduled_shown.get();
        data.with(|d| {
            let rows = d.as_ref().map_or(&[][..], |d| &d.scheduled);
            rows::scheduled(&rows[..n.min(rows.len())], is_owner)
        })
    });
    let runs_html = Memo::new(move |_| {
        let n = runs_shown.get();
        data.with(|d| {
            let runs = d.as_ref().map_or(&[][..], |d| &d.runs.items);
            rows::runs(&runs[..n.min(runs.len())])
        })
    });
    let log_html =
        Memo::new(move |_| data.with(|d| rows::log(d.as_ref().map_or(&[][..], |d| &d.log.items))));
    let count = move |len: fn(&Dash) -> usize| {
        Signal::derive(move || data.with(|d| d.as_ref().map_or(0, len)))
    };
    let runs_note = move || {
        data.with(|d| {
            let r = &d.as_ref()?.runs;
            (r.total > r.items.len())
                .then(|| format!("The {} most recent of {} runs.", r.items.len(), r.total))
        })
    };
    view! {
        <section class="card" aria-labelledby="dash-title">
            <div class="card-head">
                <h1 id="dash-title">
                    {dynv(move || instance.get().name)}
                    {dynv(move || instance.get().paused.then(|| view! { <span class="badge paused">"Paused"</span> }))}
                    {(!is_owner).then(|| view! { <span class="badge">"Read-only"</span> })}
                </h1>
                {owner_head}
            </div>
            {dynv(move || note.get().map(|n| view! { <p class="note" role="status" id="dash-note">{n}</p> }))}
        </section>
        <section class="card" aria-labelledby="scheduled-title">
            <h2 id="scheduled-title">"Scheduled Tasks"</h2>
            {show(move || !no_scheduled.get(), move || view! {
                <div class="table-wrap">
                    <table class="table" id="scheduled">
                        <thead><tr>
                            <th scope="col">"Task ID"</th><th scope="col">"Queue"</th><th scope="col">"Schedule"</th>
                            <th scope="col">"Description"</th><th scope="col">"Next run"</th>
                            {is_owner.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                        </tr></thead>
                        <tbody inner_html=scheduled_html on:click=on(move |ev| {
                            if let Some((item, action)) = row_action(&ev) {
                                act(Some(item), action);
                            }
                        })></tbody>
                    </table>
                </div>
                <ShowAll total=count(|d| d.scheduled.len()) shown=scheduled_shown id="scheduled-all"/>
            }.into_any(), || view! { <p class="muted empty">"No scheduled tasks."</p> }.into_any())}
        </section>
        <section class="card" aria-labelledby="runs-title">
            <h2 id="runs-title">"Executed Tasks"</h2>
            {show(move || !no_runs.get(), move || view! {
                <div class="table-wrap">
                    <table class="table" id="runs">
                        <thead><tr>
                            <th scope="col">"Started"</th><th scope="col">"Finished"</th><th scope="col">"Status"</th>
                            <th scope="col" class="num">"Duration"</th><th scope="col">"Task ID"</th>
                        </tr></thead>
                        <tbody inner_html=runs_html></tbody>
                    </table>
                </div>
                <ShowAll total=count(|d| d.runs.items.len()) shown=runs_shown id="runs-all"/>
                {dynv(move || runs_note().map(|n| view! { <p class="muted">{n}</p> }))}
            }.into_any(), || view! { <p class="muted empty">"Nothing has run yet."</p> }.into_any())}
        </section>
        <section class="card" aria-labelledby="timeline-title">
            <h2 id="timeline-title">"Timeline"</h2>
            <Timeline source=source.clone() data=data/>
        </section>
        <section class="card" aria-labelledby="log-title">
            <h2 id="log-title">"Scheduler Log"</h2>
            {show(move || !no_log.get(),
                move || view! { <ol class="log" id="log" inner_html=log_html></ol> }.into_any(),
                || view! { <p class="muted empty">"The log is empty."</p> }.into_any())}
        </section>
        {dynv(move || owner.get_value().map(|id| view! { <crate::share::SharePanel id=id/> }))}
    }
}

/// A click in the Scheduled Tasks table: which row (its `data-item`) and which of its buttons
/// (`run`, `pause` or `resume`); `None` for a click elsewhere.
fn row_action(ev: &web_sys::MouseEvent) -> Option<(String, &'static str)> {
    let target: web_sys::Element = ev.target()?.dyn_into().ok()?;
    let button = target.closest("button").ok()??;
    let item = button.closest("tr").ok()??.get_attribute("data-item")?;
    let action = if button.class_list().contains("run-now") {
        "run"
    } else {
        match button.get_attribute("data-action")?.as_str() {
            "pause" => "pause",
            "resume" => "resume",
            _ => return None,
        }
    };
    Some((item, action))
}

/// The timeline plot as an `<img>`: through a share its public SVG URL; for the owner the SVG is
/// fetched with the token and shown as a `data:` URL (an `<img>` cannot send a header).
#[component]
fn Timeline(source: Source, data: ReadSignal<Option<Dash>>) -> impl IntoView {
    let api = expect_context::<Api>();
    let src = RwSignal::new(None::<String>);
    let failed = RwSignal::new(false);
    let count = StoredValue::new(0u32);
    Effect::new(move |_| {
        data.track();
        count.update_value(|c| *c += 1);
        match &source {
            Source::Share(token) => src.set(Some(format!(
                "/embed/{}/timeline.svg?r={}",
                crate::api::seg(token),
                count.get_value()
            ))),
            Source::Owner(id) => {
                let id = id.clone();
                spawn_local(async move {
                    match api.timeline(&id).await {
                        Ok(svg) => {
                            failed.set(false);
                            src.set(Some(format!(
                                "data:image/svg+xml;charset=utf-8,{}",
                                String::from(js_sys::encode_uri_component(&svg))
                            )))
                        }
                        Err(_) => failed.set(true),
                    }
                });
            }
            Source::Bench => {}
        }
    });
    view! {
        {dynv(move || match (src.get(), failed.get()) {
            (_, true) => view! { <p class="muted">"The timeline is not available."</p> }.into_any(),
            (Some(s), _) => view! {
                <img class="timeline" id="timeline" src=s alt="Timeline of the scheduled and executed runs"/>
            }.into_any(),
            (None, _) => view! { <p class="muted loading">"Loading the timeline…"</p> }.into_any(),
        })}
    }
}

/// Rows a long table shows before "Show all".
const FIRST_ROWS: usize = 100;

/// "Showing 100 of 1,000 · Show all" under a long table.
#[component]
fn ShowAll(total: Signal<usize>, shown: RwSignal<usize>, id: &'static str) -> impl IntoView {
    dynv(move || {
        let (total, now) = (total.get(), shown.get());
        (total > now).then(|| {
            view! {
                <p class="muted show-all">
                    {format!("Showing {now} of {total}. ")}
                    <button type="button" class="link" id=id on:click=on(move |_| shown.set(usize::MAX))>
                        {format!("Show all {total}")}
                    </button>
                </p>
            }
        })
    })
}
