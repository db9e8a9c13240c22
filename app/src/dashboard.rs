//! The dashboard: Scheduled Tasks, Executed Tasks, the Scheduler Log and the timeline plot,
//! refreshed every few seconds. Through a share link it is read-only (no controls).
//!
//! Rows are keyed (`<For>`): a refresh that changes nothing touches no DOM, and one that does
//! changes only what changed. A scheduled row is keyed by its setting (task, queue, schedule:
//! what only an edit changes), drawn once with plain cells; its state (enabled, next run, Run
//! requested) is the only part with signals, updated in place: Pause becomes Resume in the
//! same element, so the keyboard focus and the scroll position stay put.

use crate::api::{Api, DashboardOf};
use crate::route::dashboard_href;
use crate::util::{download, duration, spawn_in_view, status_class, time_or, utc, ViewTasks};
use crate::EditorLink;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use scheduler_core::api::{
    Dashboard as Dash, LogEntry, Run, ScheduledRow, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use scheduler_core::export_file_name;
use scheduler_core::markup::Markup;
use scheduler_core::notify::EventKind;
use std::collections::HashMap;
use std::time::Duration;

const REFRESH: Duration = Duration::from_secs(5);
/// Runs and log lines asked for at first (the server's default), and how many more each
/// "Show older" asks for.
const PAGE: usize = DEFAULT_PAGE_SIZE;
/// Rows a long table shows before "Show all": a dashboard of a thousand rows is on screen at
/// once (the browser's layout of every row is what costs), and nothing is hidden from who asks.
pub const FIRST_ROWS: usize = 100;

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

    fn of(&self) -> Option<DashboardOf> {
        match self {
            Source::Owner(id) => Some(DashboardOf::Instance(id.clone())),
            Source::Share(t) => Some(DashboardOf::Share(t.clone())),
            Source::Bench => None,
        }
    }
}

#[component]
pub fn Dashboard(source: Source) -> impl IntoView {
    let api = expect_context::<Api>();
    // How many of the newest runs and log lines to ask for; "Show older" asks for more.
    let sizes = RwSignal::new((PAGE, PAGE));
    let of = source.of();
    let answer = LocalResource::new(move || {
        api.track_sign_in();
        let (runs, log) = sizes.get();
        let of = of.clone();
        async move {
            match of {
                Some(of) => Some(api.dashboard(&of, runs, log).await),
                None => None,
            }
        }
    });
    let data = RwSignal::new(None::<Dash>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move || match answer.get().flatten() {
        Some(Ok(d)) => {
            error.set(None);
            if !data.with_untracked(|old| old.as_ref().is_some_and(|old| shows_the_same(old, &d))) {
                data.set(Some(d));
            }
        }
        // Set only when it changes: a new alert is announced again by screen readers, and
        // an outage would be announced every 5 s.
        Some(Err(e)) if error.with_untracked(|old| old.as_deref() != Some(e.message.as_str())) => {
            error.set(Some(e.message))
        }
        _ => {}
    });
    if let Ok(h) = set_interval_with_handle(move || answer.refetch(), REFRESH) {
        on_cleanup(move || h.clear());
    }
    let refresh = Callback::new(move |_: ()| answer.refetch());
    let loaded = Memo::new(move |_| data.with(Option::is_some));
    let older = Callback::new(move |what: &'static str| {
        sizes.update(|(runs, log)| {
            let n = if what == "runs" { runs } else { log };
            *n = (*n + PAGE).min(MAX_PAGE_SIZE);
        });
    });
    view! {
        {move || error.get().map(|e| view! { <p class="error-box" role="alert" id="dashboard-error">{e}</p> })}
        {move || if loaded.get() {
            Either::Left(view! { <DashboardView data=data.into() source=source.clone() refresh older/> })
        } else {
            Either::Right(error.with(Option::is_none).then(|| view! { <p class="card muted loading">"Loading the dashboard…"</p> }))
        }}
    }
}

/// Whether a new answer shows what the last one did. Its `now` moves at every refresh, but
/// only the timeline's "now" line shows it, by the minute: an answer that differs from the last
/// in its seconds alone changes nothing on the page (no table rebuilt, no timeline fetched).
fn shows_the_same(old: &Dash, new: &Dash) -> bool {
    // Every field named: one added to the answer is compared, or this does not compile.
    let Dash {
        instance,
        read_only,
        now,
        scheduled,
        run_now_pending,
        runs,
        log,
        notifications,
    } = new;
    old.now.get(..16) == now.get(..16)
        && old.instance == *instance
        && old.read_only == *read_only
        && old.scheduled == *scheduled
        && old.run_now_pending == *run_now_pending
        && old.runs == *runs
        && old.log == *log
        && old.notifications == *notifications
}

/// The dashboard's content for an answer of `/api/instances/{id}/dashboard` (or a share).
#[component]
pub fn DashboardView(
    data: Signal<Option<Dash>>,
    source: Source,
    /// Loads the dashboard again (after an action).
    refresh: Callback<()>,
    /// Asks for more of the older `"runs"` or `"log"` lines.
    older: Callback<&'static str>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let owner = StoredValue::new(source.owner().map(str::to_string));
    let note = RwSignal::new(None::<String>);
    // One action at a time.
    let tasks = ViewTasks::here();
    let act = Callback::new(move |(item, action): (Option<String>, &'static str)| {
        let Some(id) = owner.get_value() else { return };
        tasks.spawn_alone(async move {
            let done = format!("Done: {action}.");
            let res = match (&item, action) {
                (Some(item), "run") => api.run_now(&id, item).await.map(|run| {
                    format!(
                        "Run requested at {}: it starts at the next tick.",
                        utc(&run.requested_at)
                    )
                }),
                (Some(item), _) => api.set_task(&id, item, action).await.map(|_| done),
                (None, _) => api.set_instance(&id, action).await.map(|_| done),
            };
            note.set(Some(res.unwrap_or_else(|e| e.message)));
            refresh.run(());
        });
    });
    let is_owner = owner.with_value(Option::is_some);
    view! {
        <div class="dashboard">
            <section class="card" aria-labelledby="dash-title">
                <Head data owner act note/>
                {move || note.get().map(|n| view! { <p class="note" role="status" id="dash-note">{n}</p> })}
            </section>
            <section class="card" aria-labelledby="scheduled-title">
                <h2 id="scheduled-title">"Scheduled Tasks"</h2>
                <ScheduledTable data owner=is_owner act/>
            </section>
            <section class="card" aria-labelledby="runs-title">
                <h2 id="runs-title">"Executed Tasks"</h2>
                <RunsTable data older/>
            </section>
            <section class="card" aria-labelledby="timeline-title">
                <h2 id="timeline-title">"Timeline"</h2>
                <Timeline source=source.clone() data/>
            </section>
            <section class="card" aria-labelledby="log-title">
                <h2 id="log-title">"Scheduler Log"</h2>
                <LogList data older/>
            </section>
            <section class="card" aria-labelledby="notifications-title">
                <h2 id="notifications-title">"Notifications"</h2>
                <DeliveryList data/>
            </section>
            {owner.get_value().map(|id| view! { <crate::share::SharePanel id/> })}
        </div>
    }
}

/// The title (name, Paused, Read-only) and, for the owner, Edit, Pause/Resume and Export.
#[component]
fn Head(
    data: Signal<Option<Dash>>,
    owner: StoredValue<Option<String>>,
    act: Callback<(Option<String>, &'static str)>,
    note: RwSignal<Option<String>>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let name = move || {
        data.with(|d| {
            d.as_ref()
                .map(|d| d.instance.name.clone())
                .unwrap_or_default()
        })
    };
    let paused = move || data.with(|d| d.as_ref().is_some_and(|d| d.instance.paused));
    let export = move |_| {
        let Some(id) = owner.get_value() else { return };
        spawn_in_view(async move {
            match api.export(&id).await {
                Ok(text) => download(&export_file_name(&name()), &text, "application/json"),
                Err(e) => note.set(Some(e.message)),
            }
        });
    };
    view! {
        <div class="card-head">
            <h1 id="dash-title">
                {name}
                {move || paused().then(|| view! { <span class="badge paused">"Paused"</span> })}
                {owner.with_value(Option::is_none).then(|| view! { <span class="badge">"Read-only"</span> })}
            </h1>
            {owner.get_value().map(|id| view! {
                <div class="actions">
                    <EditorLink class="button" id="edit-instance" href=format!("{}/edit", dashboard_href(&id))>"Edit"</EditorLink>
                    <button id="toggle-instance"
                        on:click=move |_| act.run((None, if paused() { "resume" } else { "pause" }))>
                        {move || if paused() { "Resume instance" } else { "Pause instance" }}
                    </button>
                    <button id="export-instance" on:click=export>"Export configuration"</button>
                </div>
            })}
        </div>
    }
}

/// "Showing 100 of 1000. Show all 1000" under a table that shows only its first rows.
fn show_all(
    id: &'static str,
    table: &'static str,
    total: Signal<usize>,
    shown: RwSignal<usize>,
) -> impl IntoView {
    let more = Memo::new(move |_| total.get() > shown.get());
    // The button goes with the line: the focus goes to the table it filled.
    let show = move |_| {
        shown.set(usize::MAX);
        crate::util::focus_if_lost(table);
    };
    move || {
        more.get().then(|| {
            view! {
                <p class="muted show-all">
                    {move || format!("Showing {} of {}. ", shown.get(), total.get())}
                    <button type="button" class="link" id=id on:click=show>
                        {move || format!("Show all {}", total.get())}
                    </button>
                </p>
            }
        })
    }
}

/// What only an edit of the configuration changes in a scheduled row. It is the row's key: a
/// row whose setting changed is drawn anew, so these cells need no signal of their own.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RowSetting {
    item: String,
    base_task_id: String,
    project: Option<String>,
    queue: String,
    clearml_rows: Vec<String>,
    description: String,
}

impl RowSetting {
    fn of(r: &ScheduledRow) -> Self {
        RowSetting {
            item: r.item.clone(),
            base_task_id: r.base_task_id.clone(),
            project: r.project.clone(),
            queue: r.queue.clone(),
            clearml_rows: r.clearml_rows.clone(),
            description: r.description.clone(),
        }
    }
}

/// What ticks and actions change in a scheduled row: updated in place, so the row stays the
/// same element (Pause becomes Resume under the keyboard focus).
#[derive(Clone, Debug, PartialEq)]
struct RowState {
    enabled: bool,
    next_run: Option<String>,
    /// A Run now waits for the tick.
    requested: bool,
}

#[component]
fn ScheduledTable(
    data: Signal<Option<Dash>>,
    owner: bool,
    act: Callback<(Option<String>, &'static str)>,
) -> impl IntoView {
    let shown = RwSignal::new(FIRST_ROWS);
    // The shown rows' states by item: each row reads its own from here, so a refresh updates
    // rows in place.
    let states = Memo::new(move |_| {
        let n = shown.get();
        data.with(|d| {
            let Some(d) = d else { return HashMap::new() };
            d.scheduled
                .iter()
                .take(n)
                .map(|r| {
                    let requested = d.run_now_pending.iter().any(|p| p.item == r.item);
                    let state = RowState {
                        enabled: r.enabled,
                        next_run: r.next_run.clone(),
                        requested,
                    };
                    (r.item.clone(), state)
                })
                .collect::<HashMap<String, RowState>>()
        })
    });
    let settings = move || {
        let n = shown.get();
        data.with(|d| {
            d.iter()
                .flat_map(|d| d.scheduled.iter().take(n))
                .map(RowSetting::of)
                .collect::<Vec<_>>()
        })
    };
    let total = Signal::derive(move || data.with(|d| d.as_ref().map_or(0, |d| d.scheduled.len())));
    let any = Memo::new(move |_| total.get() > 0);
    move || {
        if !any.get() {
            Either::Left(view! { <p class="muted empty">"No scheduled tasks."</p> })
        } else {
            Either::Right(view! {
                    <div class="table-wrap">
                        <table class="table" id="scheduled">
                            <thead><tr>
                                <th scope="col">"Task ID"</th><th scope="col">"Queue"</th><th scope="col">"Schedule"</th>
                                <th scope="col">"Description"</th><th scope="col">"Next run"</th>
                                {owner.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                            </tr></thead>
                            <tbody>
                                <For each=settings key=RowSetting::clone let:setting>
                                    <ScheduledRowView setting states owner act/>
                                </For>
                            </tbody>
                        </table>
                    </div>
                    {show_all("scheduled-all", "#scheduled", total, shown)}
            })
        }
    }
}

#[component]
fn ScheduledRowView(
    setting: RowSetting,
    states: Memo<HashMap<String, RowState>>,
    owner: bool,
    act: Callback<(Option<String>, &'static str)>,
) -> impl IntoView {
    let RowSetting {
        item,
        base_task_id,
        project,
        queue,
        clearml_rows,
        description,
    } = setting;
    let state = {
        let item = item.clone();
        Memo::new(move |_| states.with(|m| m.get(&item).cloned()))
    };
    let enabled = move || state.with(|s| s.as_ref().is_none_or(|s| s.enabled));
    let next_run = move || {
        let (enabled, next, requested) = state.with(|s| {
            s.as_ref().map_or((true, None, false), |s| {
                (s.enabled, s.next_run.clone(), s.requested)
            })
        });
        let next = if enabled {
            Either::Left(time_or(next, "—"))
        } else {
            Either::Right(view! { <span class="badge paused">"Paused"</span> })
        };
        (
            next,
            requested.then(|| view! { " "<span class="badge">"Run requested"</span> }),
        )
    };
    let actions = owner.then(|| {
        let item = StoredValue::new(item.clone());
        let run = move |_| act.run((Some(item.get_value()), "run"));
        let toggle = move |_| {
            act.run((
                Some(item.get_value()),
                if enabled() { "pause" } else { "resume" },
            ))
        };
        view! {
            <td class="row-actions">
                <button class="small run-now" on:click=run>"Run now"</button>
                <button class="small task-toggle" on:click=toggle>
                    {move || if enabled() { "Pause" } else { "Resume" }}
                </button>
            </td>
        }
    });
    view! {
        <tr class=move || (!enabled()).then_some("disabled") data-item=item>
            <td class="mono" title=project.map(|p| format!("Destination project: {p}"))>{base_task_id}</td>
            <td>{queue}</td>
            // One line per time of day, as ClearML's dashboard has one row per time.
            <td class="mono schedule">
                {clearml_rows.into_iter().map(|line| view! { <div>{line}</div> }).collect_view()}
            </td>
            <td>{description}</td>
            <td>{next_run}</td>
            {actions}
        </tr>
    }
}

/// "The 50 most recent of 120 runs. Show older runs" while the answer holds only the newest
/// (the button while the server would give more).
fn more(
    id: &'static str,
    list: &'static str,
    what: &'static str,
    have: Signal<usize>,
    total: Signal<usize>,
    more: Callback<()>,
) -> impl IntoView {
    let partial = Memo::new(move |_| total.get() > have.get());
    let can_ask = Memo::new(move |_| have.get() < MAX_PAGE_SIZE);
    // How many there were when the button was pressed: once more arrived, if the button went
    // (nothing older is left), the focus goes to the table or list they went into.
    let asked_at = StoredValue::new(None::<usize>);
    Effect::new(move |_| {
        let now = have.get();
        if asked_at.get_value().is_some_and(|before| now > before) {
            asked_at.set_value(None);
            crate::util::focus_if_lost(list);
        }
    });
    move || {
        partial.get().then(|| {
            view! {
                <p class="muted">
                    {move || format!("The {} most recent of {} {what}.", have.get(), total.get())}
                    {move || can_ask.get().then(|| view! {
                        " "
                        <button type="button" class="link" id=id on:click=move |_| {
                            asked_at.set_value(Some(have.get_untracked()));
                            more.run(())
                        }>
                            {format!("Show older {what}")}
                        </button>
                    })}
                </p>
            }
        })
    }
}

#[component]
fn RunsTable(data: Signal<Option<Dash>>, older: Callback<&'static str>) -> impl IntoView {
    let shown = RwSignal::new(FIRST_ROWS);
    // The rows as markup (no controls in them: nothing to keep the focus of), rebuilt only
    // when a shown run changed.
    let rows = Memo::new(move |_| {
        let n = shown.get();
        data.with(|d| {
            let runs = d.iter().flat_map(|d| d.runs.items.iter().take(n));
            run_rows(runs)
        })
    });
    let have = Signal::derive(move || data.with(|d| d.as_ref().map_or(0, |d| d.runs.items.len())));
    let total = Signal::derive(move || data.with(|d| d.as_ref().map_or(0, |d| d.runs.total)));
    let any = Memo::new(move |_| have.get() > 0);
    move || {
        if !any.get() {
            Either::Left(view! { <p class="muted empty">"Nothing has run yet."</p> })
        } else {
            Either::Right(view! {
                    <div class="table-wrap">
                        <table class="table" id="runs">
                            <thead><tr>
                                <th scope="col">"Started"</th><th scope="col">"Finished"</th><th scope="col">"Status"</th>
                                <th scope="col" class="num">"Duration"</th><th scope="col">"Task ID"</th>
                            </tr></thead>
                            <tbody inner_html=inner_html(rows)></tbody>
                        </table>
                    </div>
                    {show_all("runs-all", "#runs", have, shown)}
                    {more("runs-more", "#runs", "runs", have, total, Callback::new(move |_| older.run("runs")))}
            })
        }
    }
}

/// The Executed Tasks rows, newest first as the server sends them.
fn run_rows<'a>(runs: impl Iterator<Item = &'a Run>) -> Markup {
    let mut m = Markup::with_capacity(50_000);
    for r in runs {
        m.lit("<tr><td>");
        time_markup(&mut m, Some(&r.started), "");
        m.lit("</td><td class=\"finished\">");
        time_markup(&mut m, r.finished.as_deref(), "None");
        m.lit("</td><td><span class=\"status ")
            .text(&status_class(&r.status))
            .lit("\">")
            .text(&r.status)
            .lit("</span>");
        if r.rerun > 0 {
            m.lit(" <span class=\"muted rerun\">rerun ")
                .text(&r.rerun.to_string())
                .lit("</span>");
        }
        m.lit("</td><td class=\"num\">")
            .text(&r.duration_seconds.map_or_else(|| "—".to_string(), duration))
            .lit("</td><td class=\"mono\">");
        // Only web links become anchors: a `javascript:` URL in an answer stays inert text.
        match r.link.as_deref().filter(|l| is_web_link(l)) {
            Some(href) => m
                .lit("<a href=\"")
                .text(href)
                .lit("\" target=\"_blank\" rel=\"noopener noreferrer\">")
                .text(&r.task_id)
                .lit("</a>"),
            None => m.lit("<span>").text(&r.task_id).lit("</span>"),
        };
        m.lit("</td></tr>");
    }
    m
}

/// `<time>` as [`time`] draws it, or the muted word when there is none.
fn time_markup(m: &mut Markup, iso: Option<&str>, none: &'static str) {
    match iso {
        Some(iso) => m
            .lit("<time datetime=\"")
            .text(iso)
            .lit("\">")
            .text(&utc(iso))
            .lit("</time>"),
        None => m.lit("<span class=\"muted\">").lit(none).lit("</span>"),
    };
}

fn is_web_link(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

#[component]
fn LogList(data: Signal<Option<Dash>>, older: Callback<&'static str>) -> impl IntoView {
    // Newest first, as markup (no controls in it), rebuilt only when the lines changed.
    let lines = Memo::new(move |_| {
        data.with(|d| {
            let mut m = Markup::with_capacity(20_000);
            for l in d.iter().flat_map(|d| d.log.items.iter()) {
                let level = level_name(l);
                m.lit("<li class=\"lvl-").lit(level).lit("\">");
                time_markup(&mut m, Some(&l.at), "");
                m.lit("<span class=\"level\">")
                    .text(&level.to_ascii_uppercase())
                    .lit("</span><span class=\"msg\">")
                    .text(&l.message)
                    .lit("</span></li>");
            }
            m
        })
    });
    let have = Signal::derive(move || data.with(|d| d.as_ref().map_or(0, |d| d.log.items.len())));
    let total = Signal::derive(move || data.with(|d| d.as_ref().map_or(0, |d| d.log.total)));
    let any = Memo::new(move |_| have.get() > 0);
    move || {
        if !any.get() {
            Either::Left(view! { <p class="muted empty">"The log is empty."</p> })
        } else {
            Either::Right(view! {
                    <ol class="log" id="log" inner_html=inner_html(lines)></ol>
                    {more("log-more", "#log", "log lines", have, total, Callback::new(move |_| older.run("log")))}
            })
        }
    }
}

/// What was told to the channels, newest first: delivered, still being retried, or given up
/// (with the receiver's last answer), so nothing fails to arrive unseen.
#[component]
fn DeliveryList(data: Signal<Option<Dash>>) -> impl IntoView {
    let rows = Memo::new(move |_| {
        data.with(|d| {
            let mut m = Markup::with_capacity(10_000);
            for n in d.iter().flat_map(|d| d.notifications.iter()) {
                m.lit("<tr><td>");
                time_markup(&mut m, Some(&n.at), "");
                m.lit("</td><td>")
                    .text(EventKind::label_of(&n.event))
                    .lit(if n.count > 1 { " ×" } else { "" })
                    .text(&if n.count > 1 {
                        n.count.to_string()
                    } else {
                        String::new()
                    })
                    .lit("</td><td>")
                    .text(&n.item)
                    .lit("</td><td>")
                    .text(&n.channel)
                    .lit("</td><td><span class=\"status st-")
                    .text(&n.state.replace('_', "-"))
                    .lit("\">")
                    .text(&n.state.replace('_', " "))
                    .lit("</span></td><td class=\"num\">")
                    .text(&n.attempts.to_string())
                    .lit("</td><td>")
                    .text(n.last_error.as_deref().unwrap_or(""))
                    .lit("</td></tr>");
            }
            m
        })
    });
    let any =
        Memo::new(move |_| data.with(|d| d.as_ref().is_some_and(|d| !d.notifications.is_empty())));
    move || {
        if !any.get() {
            Either::Left(
                view! { <p class="muted empty">"Nothing has been told: no channel, or nothing went wrong."</p> },
            )
        } else {
            Either::Right(view! {
                <div class="table-wrap">
                    <table class="table" id="notifications">
                        <thead><tr>
                            <th scope="col">"When"</th><th scope="col">"Event"</th><th scope="col">"Task"</th>
                            <th scope="col">"Channel"</th><th scope="col">"State"</th>
                            <th scope="col" class="num">"Attempts"</th><th scope="col">"Last error"</th>
                        </tr></thead>
                        <tbody inner_html=inner_html(rows)></tbody>
                    </table>
                </div>
            })
        }
    }
}

/// An element's `innerHTML` from [`Markup`]: the app's one way to put markup text on the page,
/// so what reaches it was built from literals and escaped values only.
fn inner_html(markup: Memo<Markup>) -> impl Fn() -> String + Send + Sync + Copy + 'static {
    move || {
        // A focused link in it (a run's Task ID) keeps the focus across the new markup.
        crate::util::keep_focused_link();
        markup.with(|m| m.as_str().to_owned())
    }
}

fn level_name(l: &LogEntry) -> &'static str {
    match l.level {
        scheduler_core::Level::Info => "info",
        scheduler_core::Level::Warn => "warn",
        scheduler_core::Level::Error => "error",
    }
}

/// The timeline plot as an `<img>`: through a share its public SVG URL; for the owner the SVG is
/// fetched with the token and shown as a `data:` URL (an `<img>` cannot send a header).
#[component]
fn Timeline(source: Source, data: Signal<Option<Dash>>) -> impl IntoView {
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
                spawn_in_view(async move {
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
    // Which view shows changes rarely; a new picture only changes the image's `src`, in place
    // (a new element each refresh would flicker and shift what is below it).
    let shown = Memo::new(move |_| (failed.get(), src.with(Option::is_some)));
    move || match shown.get() {
        (true, _) => EitherOf3::A(view! { <p class="muted">"The timeline is not available."</p> }),
        (false, true) => EitherOf3::B(view! {
            <img class="timeline" id="timeline" src=move || src.get()
                alt="Timeline of the scheduled and executed runs"/>
        }),
        (false, false) => {
            EitherOf3::C(view! { <p class="muted loading">"Loading the timeline…"</p> })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(link: &str, finished: Option<&str>) -> Run {
        Run {
            item: "a".into(),
            name: None,
            task_id: "t<1>".into(),
            slot: "2026-11-25T10:00:00Z".into(),
            rerun: 0,
            started: "2026-11-25T10:00:00Z".into(),
            finished: finished.map(str::to_string),
            status: "in_progress".into(),
            duration_seconds: finished.map(|_| 3725),
            late_seconds: 0,
            link: Some(link.into()),
        }
    }

    #[test]
    fn run_rows_escape_their_values_and_link_only_web_urls() {
        let html = run_rows(
            [
                run(
                    "https://app.clear.ml/t1?a=1&b=2",
                    Some("2026-11-25T11:02:05Z"),
                ),
                run("javascript:alert(1)", None),
            ]
            .iter(),
        )
        .into_string();
        assert_eq!(
            html,
            concat!(
                r#"<tr><td><time datetime="2026-11-25T10:00:00Z">2026-11-25 10:00 UTC</time></td>"#,
                r#"<td class="finished"><time datetime="2026-11-25T11:02:05Z">2026-11-25 11:02:05 UTC</time></td>"#,
                r#"<td><span class="status st-in-progress">in_progress</span></td><td class="num">1h 02m 05s</td>"#,
                r#"<td class="mono"><a href="https://app.clear.ml/t1?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">t&lt;1&gt;</a></td></tr>"#,
                r#"<tr><td><time datetime="2026-11-25T10:00:00Z">2026-11-25 10:00 UTC</time></td>"#,
                r#"<td class="finished"><span class="muted">None</span></td>"#,
                r#"<td><span class="status st-in-progress">in_progress</span></td><td class="num">—</td>"#,
                r#"<td class="mono"><span>t&lt;1&gt;</span></td></tr>"#,
            )
        );
    }

    #[test]
    fn an_answer_that_differs_only_in_its_seconds_shows_the_same() {
        let old = crate::bench::synthetic(3);
        let mut new = old.clone();
        new.now = "2026-11-25T10:00:55Z".into();
        assert!(shows_the_same(&old, &new));
        new.now = "2026-11-25T10:01:00Z".into();
        assert!(
            !shows_the_same(&old, &new),
            "the now line moves by the minute"
        );
        let mut new = old.clone();
        new.runs.items[0].status = "completed".into();
        new.runs.items[1].status = "completed".into();
        assert!(!shows_the_same(&old, &new));
    }

    #[test]
    fn only_web_links_are_links() {
        assert!(is_web_link("https://app.clear.ml/x"));
        assert!(is_web_link("HTTP://h/x"));
        assert!(!is_web_link("javascript:alert(1)"));
    }
}
