//! The dashboard: Scheduled Tasks, Executed Tasks, the Scheduler Log and the timeline plot,
//! refreshed every few seconds. Through a share link it is read-only (no edit controls).
//!
//! The title, the tables and the log are HTML text built by [`crate::rows`] and memoized, so a
//! refresh that changes nothing touches no DOM, and one that does replaces only the part that
//! changed: the page's scroll position and the share panel's inputs survive.

use crate::api::{read, Api, Dashboard as Dash, DashboardOf, MAX_PAGE};
use crate::rows;
use crate::rows::FIRST_ROWS;
use crate::util::{
    click_target, download, dynv, file_name, find_by_attr, focus, focus_lost, on, show,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

const REFRESH: Duration = Duration::from_secs(5);
/// Runs and log lines asked for at first, and how many more each "Show older" asks for.
const PAGE: usize = 50;

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
    let src = StoredValue::new(source.clone());
    // How many of the newest runs and log lines to ask for; "Show older" asks for more.
    let sizes = StoredValue::new((PAGE, PAGE));
    // One request at a time; a load asked for meanwhile runs when it ends.
    let (busy, again) = (StoredValue::new(false), StoredValue::new(false));
    let load = move || {
        if busy.get_value() {
            again.set_value(true);
            return;
        }
        busy.set_value(true);
        spawn_local(async move {
            loop {
                let (runs, log) = sizes.get_value();
                let answer = match src.get_value() {
                    Source::Owner(id) => api.dashboard(DashboardOf::Instance(&id), runs, log).await,
                    Source::Share(t) => api.dashboard(DashboardOf::Share(&t), runs, log).await,
                    Source::Bench => break,
                };
                match answer.and_then(read::<Dash>) {
                    Ok(d) => {
                        error.set(None);
                        if data.with_untracked(|old| old.as_ref() != Some(&d)) {
                            data.set(Some(d));
                        }
                    }
                    Err(e) => error.set(Some(e.message)),
                }
                if !again.get_value() {
                    break;
                }
                again.set_value(false);
            }
            busy.set_value(false);
        });
    };
    load();
    if let Ok(h) = set_interval_with_handle(load, REFRESH) {
        on_cleanup(move || h.clear());
    }
    let refresh = Callback::new(move |_: ()| load());
    let older = Callback::new(move |what: &'static str| {
        sizes.update_value(|(runs, log)| {
            let n = if what == "runs" { runs } else { log };
            *n = (*n + PAGE).min(MAX_PAGE);
        });
        load();
    });
    view! {
        {dynv(move || error.get().map(|e| view! { <p class="error-box" role="alert" id="dashboard-error">{e}</p> }))}
        {show(move || data.with(Option::is_some),
            move || view! { <DashboardView data=data.read_only() source=source.clone() refresh=refresh older=older/> }.into_any(),
            move || (error.with(Option::is_none)).then(|| view! { <p class="card muted loading">"Loading the dashboard…"</p> }).into_any())}
    }
}

/// The dashboard's content for an answer of `/api/instances/{id}/dashboard` (or a share).
#[component]
pub fn DashboardView(
    data: ReadSignal<Option<Dash>>,
    source: Source,
    /// Loads the dashboard again (after an action).
    refresh: Callback<()>,
    /// Asks for more of the older `"runs"` or `"log"` lines.
    older: Callback<&'static str>,
) -> impl IntoView {
    let api = expect_context::<Api>();
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
                Ok(_) if action == "run" => {
                    "Run requested: it starts at the next tick.".to_string()
                }
                Ok(_) => format!("Done: {action}."),
                Err(e) => e.message,
            }));
            refresh.run(());
        });
    };
    let export = move || {
        let Some(id) = owner.get_value() else { return };
        spawn_local(async move {
            match api.export(&id).await {
                Ok(text) => {
                    let name =
                        data.with_untracked(|d| d.as_ref().map(|d| file_name(&d.instance.name)));
                    download(&name.unwrap_or_default(), &text, "application/json")
                }
                Err(e) => note.set(Some(e.message)),
            }
        });
    };
    // Long tables show their first rows and a button for the rest: a dashboard of a thousand
    // rows is on screen at once (the browser's layout of every row is what costs), and nothing
    // is hidden from who asks.
    let scheduled_shown = RwSignal::new(FIRST_ROWS);
    let runs_shown = RwSignal::new(FIRST_ROWS);
    // Each part as one HTML text, memoized: a refresh that changes nothing leaves the DOM alone,
    // and one that does redraws only the parts that changed.
    let head = Memo::new(move |_| {
        data.with(|d| {
            d.as_ref()
                .map(|d| rows::head(&d.instance, is_owner))
                .unwrap_or_default()
        })
    });
    let scheduled = Memo::new(move |_| {
        let n = scheduled_shown.get();
        data.with(|d| {
            rows::scheduled_section(d.as_ref().map_or(&[][..], |d| &d.scheduled), n, is_owner)
        })
    });
    let runs = Memo::new(move |_| {
        let n = runs_shown.get();
        data.with(|d| {
            d.as_ref()
                .map(|d| rows::runs_section(&d.runs, n))
                .unwrap_or_default()
        })
    });
    let log = Memo::new(move |_| {
        data.with(|d| {
            d.as_ref()
                .map(|d| rows::log_section(&d.log))
                .unwrap_or_default()
        })
    });
    // A pressed button is redrawn with its part of the page (Pause becomes Resume), which
    // drops the keyboard focus: once the redraw is on the page, the focus goes to the new one.
    let pressed = StoredValue::new(None::<Pressed>);
    Effect::new(move |_| {
        data.track();
        if pressed.with_value(Option::is_some) {
            request_animation_frame(move || refocus(pressed));
        }
    });
    // One listener for every button the HTML above holds.
    let clicked = move |ev: leptos::ev::MouseEvent| {
        let Some(button) = click_target(&ev, "button") else {
            return;
        };
        match button.id().as_str() {
            "scheduled-all" => scheduled_shown.set(usize::MAX),
            "runs-all" => runs_shown.set(usize::MAX),
            "runs-more" | "log-more" => {
                // The button stays while there is more to show.
                let (css, what) = if button.id() == "runs-more" {
                    ("#runs-more", "runs")
                } else {
                    ("#log-more", "log")
                };
                pressed.set_value(Some(Pressed { item: None, css }));
                older.run(what)
            }
            "toggle-instance" => {
                let paused = data.with_untracked(|d| d.as_ref().is_some_and(|d| d.instance.paused));
                pressed.set_value(Some(Pressed {
                    item: None,
                    css: "#toggle-instance",
                }));
                act(None, if paused { "resume" } else { "pause" })
            }
            "export-instance" => export(),
            _ => {
                if let Some((item, action)) = row_action(&button) {
                    let css = if action == "run" {
                        ".run-now"
                    } else {
                        ".task-toggle"
                    };
                    pressed.set_value(Some(Pressed {
                        item: Some(item.clone()),
                        css,
                    }));
                    act(Some(item), action);
                }
            }
        }
    };
    view! {
        <div class="dashboard" on:click=on(clicked)>
            <section class="card" aria-labelledby="dash-title">
                <div class="card-head" inner_html=head></div>
                {dynv(move || note.get().map(|n| view! { <p class="note" role="status" id="dash-note">{n}</p> }))}
            </section>
            <section class="card" aria-labelledby="scheduled-title">
                <h2 id="scheduled-title">"Scheduled Tasks"</h2>
                <div inner_html=scheduled></div>
            </section>
            <section class="card" aria-labelledby="runs-title">
                <h2 id="runs-title">"Executed Tasks"</h2>
                <div inner_html=runs></div>
            </section>
            <section class="card" aria-labelledby="timeline-title">
                <h2 id="timeline-title">"Timeline"</h2>
                <Timeline source=source.clone() data=data/>
            </section>
            <section class="card" aria-labelledby="log-title">
                <h2 id="log-title">"Scheduler Log"</h2>
                <div inner_html=log></div>
            </section>
            {dynv(move || owner.get_value().map(|id| view! { <crate::share::SharePanel id=id/> }))}
        </div>
    }
}

/// The button the user pressed last: in the Scheduled Tasks row `item`, or the page's own.
#[derive(Clone)]
struct Pressed {
    item: Option<String>,
    css: &'static str,
}

/// Gives the focus back to the pressed button if a redraw took it away (nothing has it).
fn refocus(pressed: StoredValue<Option<Pressed>>) {
    if !focus_lost() {
        return;
    }
    let Some(p) = pressed.get_value() else { return };
    pressed.set_value(None);
    let within = match &p.item {
        None => document().document_element(),
        Some(item) => find_by_attr("#scheduled tr[data-item]", "data-item", item),
    };
    focus(within.and_then(|w| w.query_selector(p.css).ok().flatten()));
}

/// A click on a Scheduled Tasks row's button: which row (its `data-item`) and which button
/// (`run`, `pause` or `resume`).
fn row_action(button: &web_sys::Element) -> Option<(String, &'static str)> {
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
