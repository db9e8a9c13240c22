//! The instance form (create and edit) with the seed's fields, Import and Export Configuration.
//!
//! Each scheduled-task row holds its fields as signals ([`Row`]); as the user types, the row
//! asks `/api/preview` (debounced) for its next 5 runs, its ClearML form and English sentence,
//! and shows each validation message next to its field. Save sends the whole configuration;
//! the server's errors (`scheduled_tasks[1].times[0]`) land next to the fields they name.

use crate::api::{Api, FieldError, Preview};
use crate::json::Json;
use crate::route::{dashboard_href, go};
use crate::util::{download, dynv, file_name, on, read_chosen_file, show, sig, Time};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

const FORMAT: &str = "clearml-task-scheduler/v1";
const DEBOUNCE: Duration = Duration::from_millis(350);
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const WEEKDAY_LABELS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// The task fields the form edits; any other field of an imported task (`id`, `name`,
/// `catch_up`, …) is kept as it was.
const EDITED: [&str; 14] = [
    "base_task_id",
    "destination_project",
    "queue",
    "recurrence",
    "times",
    "date",
    "weekdays",
    "days",
    "cron",
    "timezone",
    "enabled",
    "single_instance",
    "execution_limit_hours",
    "task_parameters",
];

/// One scheduled-task row of the form.
#[derive(Clone, Copy)]
struct Row {
    key: usize,
    /// Fields the form does not edit, kept for the round trip.
    extra: StoredValue<Vec<(String, Json)>>,
    base_task_id: RwSignal<String>,
    destination_project: RwSignal<String>,
    queue: RwSignal<String>,
    recurrence: RwSignal<String>,
    /// Times of day, each with a stable key so typing never re-creates its input.
    times: RwSignal<Vec<(usize, RwSignal<String>)>>,
    date: RwSignal<String>,
    weekdays: RwSignal<Vec<String>>,
    days: RwSignal<String>,
    cron: RwSignal<String>,
    timezone: RwSignal<String>,
    enabled: RwSignal<bool>,
    single_instance: RwSignal<bool>,
    limit: RwSignal<String>,
    params: RwSignal<String>,
    /// Validation messages by path inside the task (`times[0]`, `queue`, `""`).
    errors: RwSignal<Vec<FieldError>>,
    preview: RwSignal<Option<Preview>>,
    /// The user changed something (or the row came from a file): live help is on.
    touched: RwSignal<bool>,
    /// The row's Options section is open.
    options_open: RwSignal<bool>,
    /// The live preview's debounce: the pending request's timer, a counter so that only the
    /// newest answer counts, and the task text last asked about (a redrawn row asks again
    /// only if the task changed). Kept in the row, which outlives its drawings.
    preview_timer: StoredValue<Option<TimeoutHandle>>,
    preview_seq: StoredValue<u32>,
    preview_for: StoredValue<String>,
}

fn next_key() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn text(v: Option<&Json>) -> String {
    v.map(Json::text).unwrap_or_default()
}

impl Row {
    fn blank() -> Row {
        Row::from_json(&Json::object(), false)
    }

    fn from_json(o: &Json, touched: bool) -> Row {
        let extra: Vec<(String, Json)> = o
            .as_object()
            .iter()
            .filter(|(k, _)| !EDITED.contains(&k.as_str()))
            .cloned()
            .collect();
        let list = |k: &str| o.get(k).map(Json::as_array).unwrap_or_default();
        let mut times: Vec<_> = list("times")
            .iter()
            .map(|t| (next_key(), RwSignal::new(text(Some(t)))))
            .collect();
        if times.is_empty() {
            times.push((next_key(), RwSignal::new(String::new())));
        }
        let params = o
            .get("task_parameters")
            .map(|m| {
                m.as_object()
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.text()))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        let recurrence = o.opt_str("recurrence").unwrap_or_else(|| "daily".into());
        let timezone = o.opt_str("timezone").unwrap_or_else(|| "UTC".into());
        Row {
            key: next_key(),
            extra: StoredValue::new(extra),
            base_task_id: RwSignal::new(text(o.get("base_task_id"))),
            destination_project: RwSignal::new(text(o.get("destination_project"))),
            queue: RwSignal::new(
                o.get("queue")
                    .map(|q| text(Some(q)))
                    .unwrap_or_else(|| "default".into()),
            ),
            recurrence: RwSignal::new(recurrence),
            times: RwSignal::new(times),
            date: RwSignal::new(text(o.get("date"))),
            weekdays: RwSignal::new(list("weekdays").iter().map(|d| text(Some(d))).collect()),
            days: RwSignal::new(
                list("days")
                    .iter()
                    .map(|d| text(Some(d)))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            cron: RwSignal::new(text(o.get("cron"))),
            timezone: RwSignal::new(timezone),
            enabled: RwSignal::new(o.bool_or("enabled", true)),
            single_instance: RwSignal::new(o.bool_or("single_instance", false)),
            limit: RwSignal::new(text(o.get("execution_limit_hours"))),
            params: RwSignal::new(params),
            errors: RwSignal::new(Vec::new()),
            preview: RwSignal::new(None),
            touched: RwSignal::new(touched),
            options_open: RwSignal::new(false),
            preview_timer: StoredValue::new(None),
            preview_seq: StoredValue::new(0),
            preview_for: StoredValue::new(String::new()),
        }
    }

    /// The task as the configuration file writes it (defaults omitted), its fields in the
    /// file format's order with `id` first and the fields the form does not edit last.
    /// Tracks every field.
    fn to_json(self) -> Json {
        let extra = self.extra.get_value();
        let mut o = Json::Object(extra.iter().filter(|(k, _)| k == "id").cloned().collect());
        o.set("base_task_id", self.base_task_id.get().trim());
        let project = self.destination_project.get();
        if !project.trim().is_empty() {
            o.set("destination_project", project.trim());
        }
        o.set("queue", self.queue.get().trim());
        let rec = self.recurrence.get();
        o.set("recurrence", rec.as_str());
        if rec == "cron" {
            o.set("cron", self.cron.get().trim());
        } else {
            let times: Vec<Json> = self
                .times
                .get()
                .iter()
                .map(|(_, t)| t.get().trim().into())
                .collect();
            o.set("times", times);
        }
        match rec.as_str() {
            "none" => o.set("date", self.date.get().trim()),
            "weekly" => {
                let days: Vec<Json> = self.weekdays.get().into_iter().map(Json::from).collect();
                o.set("weekdays", days);
            }
            "monthly" => {
                let days: Vec<Json> = self
                    .days
                    .get()
                    .split([',', ' '])
                    .filter(|d| !d.is_empty())
                    .map(|d| {
                        d.parse::<u32>()
                            .map(Json::from)
                            .unwrap_or_else(|_| d.into())
                    })
                    .collect();
                o.set("days", days);
            }
            _ => {}
        }
        let tz = self.timezone.get();
        if !tz.trim().is_empty() && tz.trim() != "UTC" {
            o.set("timezone", tz.trim());
        }
        if !self.enabled.get() {
            o.set("enabled", false);
        }
        if self.single_instance.get() {
            o.set("single_instance", true);
        }
        let limit = self.limit.get();
        let limit = limit.trim();
        if !limit.is_empty() {
            // A number when it is one; otherwise the text, so the server names the problem.
            o.set(
                "execution_limit_hours",
                Json::number(limit).unwrap_or_else(|| limit.into()),
            );
        }
        // One `name=value` a line; a name given twice keeps its last value.
        let mut params = Json::object();
        for line in self.params.get().lines().filter(|l| !l.trim().is_empty()) {
            let (name, value) = line.split_once('=').unwrap_or((line, ""));
            params.set(name.trim(), value.trim());
        }
        if !params.as_object().is_empty() {
            o.set("task_parameters", params);
        }
        for (k, v) in extra.into_iter().filter(|(k, _)| k != "id") {
            o.set(&k, v);
        }
        o
    }

    /// Messages for a field: its own path, and paths below it (`times` also shows `times[2]`
    /// unless `exact`).
    fn messages(self, field: &'static str, exact: bool) -> Signal<Vec<String>> {
        Signal::derive(move || {
            if !self.touched.get() {
                return Vec::new();
            }
            self.errors.with(|es| {
                es.iter()
                    .filter(|e| e.path == field || (!exact && is_under(&e.path, field)))
                    .map(|e| e.message.clone())
                    .collect()
            })
        })
    }
}

/// Whether an error's `path` names something inside `field` (`times[2]`, `task_parameters.x`).
fn is_under(path: &str, field: &str) -> bool {
    path.strip_prefix(field)
        .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
}

/// Splits the save errors by row: `scheduled_tasks[1].times[0]` → row 1, `times[0]`.
fn route_errors(errors: &[FieldError], rows: &[Row]) -> (Vec<FieldError>, Vec<Vec<FieldError>>) {
    let mut top = Vec::new();
    let mut per_row = vec![Vec::new(); rows.len()];
    for e in errors {
        let routed = e.path.strip_prefix("scheduled_tasks[").and_then(|rest| {
            let (n, tail) = rest.split_once(']')?;
            let i: usize = n.parse().ok()?;
            (i < rows.len()).then(|| (i, tail.trim_start_matches('.').to_string()))
        });
        match routed {
            Some((i, path)) => per_row[i].push(FieldError {
                path,
                message: e.message.clone(),
            }),
            None => top.push(e.clone()),
        }
    }
    (top, per_row)
}

#[component]
pub fn InstanceForm(id: Option<String>) -> impl IntoView {
    let api = expect_context::<Api>();
    let editing = id.clone();
    let name = RwSignal::new(String::new());
    let rows = RwSignal::new(Vec::<Row>::new());
    let top_errors = RwSignal::new(Vec::<FieldError>::new());
    let status = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let loaded = RwSignal::new(id.is_none());
    let name_touched = RwSignal::new(false);

    let fill = move |config: &Json| {
        name.set(text(config.get("name")));
        let list = config
            .get("scheduled_tasks")
            .map(Json::as_array)
            .unwrap_or_default();
        rows.set(list.iter().map(|t| Row::from_json(t, true)).collect());
        top_errors.set(Vec::new());
        name_touched.set(true);
    };
    if let Some(id) = id.clone() {
        spawn_local(async move {
            match api.instance(&id).await {
                Ok(config) => {
                    fill(&config);
                    loaded.set(true);
                }
                Err(e) => status.set(Some(e.message)),
            }
        });
    } else {
        rows.set(vec![Row::blank()]);
    }

    let config = move || {
        let tasks: Vec<Json> = rows.get().iter().map(|r| r.to_json()).collect();
        let mut config = Json::object();
        config.set("format", FORMAT);
        config.set("name", name.get().trim());
        config.set("scheduled_tasks", tasks);
        config
    };

    let editing_id = StoredValue::new(editing.clone());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = config().to_string();
        saving.set(true);
        status.set(None);
        spawn_local(async move {
            let result = match editing_id.get_value() {
                Some(id) => api.update(&id, body).await.map(|()| id),
                None => api.create(body).await.map(|c| c.id),
            };
            saving.set(false);
            match result {
                Ok(id) => go(&dashboard_href(&id)),
                Err(e) => {
                    let current = rows.get_untracked();
                    let (mut top, per_row) = route_errors(&e.errors, &current);
                    for (row, errs) in current.iter().zip(per_row) {
                        row.touched.set(true);
                        row.errors.set(errs);
                    }
                    name_touched.set(true);
                    if e.errors.is_empty() {
                        top.push(FieldError {
                            path: e.field.clone().unwrap_or_default(),
                            message: e.message.clone(),
                        });
                    }
                    let n = e.errors.len().max(1);
                    status.set(Some(format!(
                        "Not saved: {n} problem{} to fix{}.",
                        if n == 1 { "" } else { "s" },
                        if e.errors.is_empty() {
                            ""
                        } else {
                            ", shown next to the fields"
                        }
                    )));
                    top_errors.set(top);
                }
            }
        });
    };

    let import = move |ev: leptos::ev::Event| {
        spawn_local(async move {
            let Some((file, body)) = read_chosen_file(&ev).await else {
                return;
            };
            match Json::parse(&body) {
                Ok(v) if v.get("scheduled_tasks").is_some() => {
                    fill(&v);
                    status.set(Some(format!("Imported {file}: check the fields, then save.")));
                }
                Ok(Json::Array(_)) => status.set(Some(format!(
                    "{file} is a ClearML SDK schedule list: import it from the instances list (Import configuration), then edit it."
                ))),
                Ok(_) => status.set(Some(format!("{file} has no \"scheduled_tasks\": it is not a scheduler configuration."))),
                Err(e) => status.set(Some(format!("{file} is not JSON: {e}"))),
            }
        });
    };
    let export = move |_| {
        let mut text = config().to_pretty();
        text.push('\n');
        download(&file_name(&name.get_untracked()), &text, "application/json");
    };
    let name_errors = Signal::derive(move || {
        top_errors.with(|es| {
            es.iter()
                .filter(|e| e.path == "name")
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
        })
    });
    let other_errors = move || {
        top_errors.with(|es| {
            es.iter()
                .filter(|e| e.path != "name")
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let title = if editing.is_some() {
        "Edit scheduler instance"
    } else {
        "New scheduler instance"
    };
    let cancel = editing
        .as_deref()
        .map(dashboard_href)
        .unwrap_or_else(|| "#/".into());

    view! {
        <form class="instance-form" on:submit=on(save) novalidate aria-labelledby="form-title">
            <section class="card">
                <div class="card-head">
                    <h1 id="form-title">{title}</h1>
                    <div class="actions">
                        <label class="button file">
                            "Import Configuration"
                            <input type="file" id="import-config" accept=".json,application/json" on:change=on(import)/>
                        </label>
                        <button type="button" id="export-config" on:click=on(export)>"Export Configuration"</button>
                    </div>
                </div>
                {show(move || loaded.get(), move || view! {
                    <div class="field">
                        <label for="instance-name">"Scheduling Job Name"</label>
                        <input id="instance-name" type="text" bind:value=name placeholder="Nightly retraining"
                            aria-describedby="instance-name-msg" on:input=on(move |_| name_touched.set(true))/>
                        <FieldMessages id="instance-name-msg".to_string() messages=name_errors/>
                    </div>
                }.into_any(), || view! { <p class="muted loading">"Loading the configuration…"</p> }.into_any())}
            </section>
            {show(move || loaded.get(), move || view! {
                <h2 class="section-title">"Scheduled Tasks"</h2>
                // Redrawn whole when a row is added or removed (typing changes only the row's own
                // signals); everything a row shows lives in its signals, so nothing is lost.
                {dynv(move || rows.get().into_iter().enumerate().map(|(index, row)| view! {
                    <TaskRow index=index row=row rows=rows/>
                }).collect_view())}
                <button type="button" class="add" id="add-item" on:click=on(move |_| rows.update(|r| r.push(Row::blank())))>
                    "+ Add item"
                </button>
            }.into_any(), || ().into_any())}
            <div class="card save-bar">
                {dynv(move || (!other_errors().is_empty()).then(|| view! {
                    <ul class="error-list" role="alert" id="form-errors">
                        {other_errors().into_iter().map(|e| view! {
                            <li>{if e.path.is_empty() { e.message } else { format!("{}: {}", e.path, e.message) }}</li>
                        }).collect_view()}
                    </ul>
                }))}
                {dynv(move || status.get().map(|s| view! { <p class="status-line" role="status" id="form-status">{s}</p> }))}
                <div class="actions">
                    <a class="button" href=cancel>"Cancel"</a>
                    <button type="submit" class="primary" id="save" disabled=sig(move || saving.get() || !loaded.get())>
                        {dynv(move || if saving.get() { "Saving…" } else { "Save" })}
                    </button>
                </div>
            </div>
        </form>
    }
}

/// Validation messages under a field (`role=alert` so screen readers hear them).
#[component]
fn FieldMessages(id: String, messages: Signal<Vec<String>>) -> impl IntoView {
    view! {
        <div class="field-msg" id=id aria-live="polite">
            {dynv(move || messages.get().into_iter().map(|m| view! { <p class="error">{m}</p> }).collect_view())}
        </div>
    }
}

#[component]
fn TaskRow(index: usize, row: Row, rows: RwSignal<Vec<Row>>) -> impl IntoView {
    let api = expect_context::<Api>();
    let k = row.key;
    let fid = move |name: &str| format!("t{k}-{name}");
    let position = move || {
        rows.with(|rs| {
            rs.iter()
                .position(|r| r.key == k)
                .map(|i| i + 1)
                .unwrap_or(index + 1)
        })
    };

    // Live preview: debounced, only the newest answer counts.
    let (timer, seq) = (row.preview_timer, row.preview_seq);
    Effect::new(move |_| {
        let task = row.to_json();
        if !row.touched.get() {
            return;
        }
        let text = task.to_string();
        if row.preview_for.with_value(|last| *last == text) {
            return;
        }
        row.preview_for.set_value(text);
        if let Some(h) = timer.get_value() {
            h.clear();
        }
        seq.update_value(|s| *s += 1);
        let mine = seq.get_value();
        let handle = set_timeout_with_handle(
            move || {
                spawn_local(async move {
                    let answer = api.preview(&task).await;
                    if seq.get_value() != mine {
                        return;
                    }
                    match answer {
                        Ok(p) => {
                            row.errors.set(Vec::new());
                            row.preview.set(Some(p));
                        }
                        Err(e) if !e.errors.is_empty() => {
                            row.preview.set(None);
                            row.errors.set(e.errors);
                        }
                        Err(e) => {
                            row.preview.set(None);
                            row.errors.set(vec![FieldError {
                                path: e.field.unwrap_or_default(),
                                message: e.message,
                            }]);
                        }
                    }
                });
            },
            DEBOUNCE,
        );
        timer.set_value(handle.ok());
    });
    let touch = move |_| row.touched.set(true);
    let rec = row.recurrence;
    // Errors no field shows (the row's own, `enabled`, fields the form does not edit).
    let unplaced = Signal::derive(move || {
        if !row.touched.get() {
            return Vec::new();
        }
        let placed = |path: &str| {
            EDITED
                .iter()
                .filter(|f| **f != "enabled")
                .any(|f| path == *f || is_under(path, f))
        };
        row.errors.with(|es| {
            es.iter()
                .filter(|e| !placed(&e.path))
                .map(|e| {
                    if e.path.is_empty() {
                        e.message.clone()
                    } else {
                        format!("{}: {}", e.path, e.message)
                    }
                })
                .collect::<Vec<_>>()
        })
    });

    view! {
        <fieldset class=sig(move || format!("card task-row rec-{}", rec.get())) data-row=k
            on:input=on(touch) on:change=on(touch)>
            <legend>{dynv(move || format!("Task {}", position()))}</legend>
            <div class="row-grid">
                <TextField id=fid("base") label="Base Task ID" value=row.base_task_id placeholder="aabbccddeeff00112233445566778899"
                    messages=row.messages("base_task_id", false) class="mono"/>
                <TextField id=fid("project") label="Destination Project" value=row.destination_project placeholder="Scheduled/retrain"
                    messages=row.messages("destination_project", false) class=""/>
                <TextField id=fid("queue") label="Queue" value=row.queue placeholder="default"
                    messages=row.messages("queue", false) class=""/>
                <div class="field">
                    <label for=fid("recurrence")>"Recurrence"</label>
                    <select id=fid("recurrence") class="recurrence" bind:value=rec>
                        <option value="none">"None"</option>
                        <option value="daily">"Daily"</option>
                        <option value="weekly">"Weekly"</option>
                        <option value="monthly">"Monthly"</option>
                        <option value="cron">"Cron"</option>
                    </select>
                    <FieldMessages id=fid("recurrence-msg") messages=row.messages("recurrence", false)/>
                </div>
                <TextField id=fid("tz") label="Time zone" value=row.timezone placeholder="UTC"
                    messages=row.messages("timezone", false) class=""/>
            </div>
            // Every recurrence's fields are on the page; the row's `rec-…` class shows the ones
            // that apply (styles.css), so switching keeps what was typed and rebuilds nothing.
            <Times row=row/>
                <div class="field narrow only-none">
                    <label for=fid("date")>"Date"</label>
                    <input id=fid("date") class="date" type="date" bind:value=row.date/>
                    <FieldMessages id=fid("date-msg") messages=row.messages("date", false)/>
                </div>
                <fieldset class="weekdays only-weekly">
                    <legend>"Weekdays"</legend>
                    {WEEKDAYS.iter().zip(WEEKDAY_LABELS).map(|(d, label)| {
                        let day = d.to_string();
                        let checked = { let day = day.clone(); sig(move || row.weekdays.with(|w| w.contains(&day))) };
                        let toggle = { let day = day.clone(); on(move |ev| {
                            let on = event_target_checked(&ev);
                            // Kept in week order, whatever the order of the clicks.
                            row.weekdays.update(|w| {
                                *w = WEEKDAYS
                                    .iter()
                                    .filter(|x| (**x == day && on) || (**x != day && w.iter().any(|y| y == *x)))
                                    .map(|x| x.to_string())
                                    .collect();
                            });
                        })};
                        view! {
                            <label class="check"><input type="checkbox" value=day.clone() prop:checked=checked on:change=toggle/>
                                {label}</label>
                        }
                    }).collect_view()}
                    <FieldMessages id=fid("weekdays-msg") messages=row.messages("weekdays", false)/>
                </fieldset>
                <div class="only-monthly">
                    <TextField id=fid("days") label="Days of the month (numbers, or \"last\")" value=row.days placeholder="1, 15, last"
                        messages=row.messages("days", false) class="days"/>
                </div>
                <div class="only-cron">
                    <TextField id=fid("cron") label="Cron expression (minute hour day month weekday)" value=row.cron placeholder="*/15 * * * *"
                        messages=row.messages("cron", false) class="mono cron"/>
                </div>
            <details class="options" prop:open={ let open: Signal<bool> = row.options_open.into(); open }
                on:toggle=on(move |ev| row.options_open.set(event_target::<web_sys::HtmlDetailsElement>(&ev).open()))>
                <summary>"Options: single instance, execution limit, task parameters"</summary>
                <div class="row-grid">
                    <div class="field">
                        <label class="check"><input type="checkbox" id=fid("single") bind:checked=row.single_instance/>
                            "Single instance (skip a run while the previous one is still running)"</label>
                        <FieldMessages id=fid("single-msg") messages=row.messages("single_instance", false)/>
                    </div>
                    <div class="field">
                        <label class="check"><input type="checkbox" id=fid("enabled") bind:checked=row.enabled/>"Enabled"</label>
                    </div>
                    <TextField id=fid("limit") label="Execution limit (hours)" value=row.limit placeholder="2.5"
                        messages=row.messages("execution_limit_hours", false) class=""/>
                    <div class="field wide">
                        <label for=fid("params")>"Task parameters (one name=value a line)"</label>
                        <textarea id=fid("params") rows="3" placeholder="Args/batch=12" bind:value=row.params></textarea>
                        <FieldMessages id=fid("params-msg") messages=row.messages("task_parameters", false)/>
                    </div>
                </div>
            </details>
            <FieldMessages id=fid("other-msg") messages=unplaced/>
            <PreviewBox row=row/>
            <div class="row-foot">
                <button type="button" class="small danger remove-item"
                    on:click=on(move |_| rows.update(|rs| rs.retain(|r| r.key != k)))>"Remove item"</button>
            </div>
        </fieldset>
    }
}

#[component]
fn TextField(
    id: String,
    label: &'static str,
    value: RwSignal<String>,
    placeholder: &'static str,
    messages: Signal<Vec<String>>,
    class: &'static str,
) -> impl IntoView {
    let msg_id = format!("{id}-msg");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id type="text" class=class placeholder=placeholder bind:value=value
                aria-describedby=msg_id.clone() aria-invalid=sig(move || (!messages.with(Vec::is_empty)).to_string())/>
            <FieldMessages id=msg_id messages=messages/>
        </div>
    }
}

/// "Time of the Day": one or more `HH:MM` inputs, add and remove.
#[component]
fn Times(row: Row) -> impl IntoView {
    let add = move |_| {
        row.times
            .update(|t| t.push((next_key(), RwSignal::new(String::new()))))
    };
    let k = row.key;
    view! {
        <fieldset class="times">
            <legend>"Time of the Day (HH:MM)"</legend>
            // Redrawn whole when a time is added or removed; typing changes only the time's own
            // signal, so the inputs (and the focus) stay while the user types.
            {dynv(move || row.times.get().into_iter().enumerate().map(|(i, (tk, value))| {
                let messages = Signal::derive(move || {
                    if !row.touched.get() {
                        return Vec::new();
                    }
                    let path = format!("times[{i}]");
                    row.errors.with(|es| es.iter().filter(|e| e.path == path).map(|e| e.message.clone()).collect::<Vec<_>>())
                });
                let id = format!("t{k}-time-{tk}");
                view! {
                    <div class="time">
                        <label class="sr-only" for=id.clone()>{format!("Time {}", i + 1)}</label>
                        <input id=id.clone() type="text" class="time-input" inputmode="numeric" placeholder="06:20"
                            size="6" bind:value=value aria-describedby=format!("{id}-msg")
                            aria-invalid=sig(move || (!messages.with(Vec::is_empty)).to_string())/>
                        <button type="button" class="small icon remove-time" aria-label="Remove this time"
                            disabled=sig(move || row.times.with(|t| t.len() <= 1))
                            on:click=on(move |_| { row.touched.set(true); row.times.update(|ts| ts.retain(|(x, _)| *x != tk)) })>"×"</button>
                        <FieldMessages id=format!("{id}-msg") messages=messages/>
                    </div>
                }
            }).collect_view())}
            <button type="button" class="small add-time" on:click=on(add)>"+ Add time"</button>
            <FieldMessages id=format!("t{k}-times-msg") messages=row.messages("times", true)/>
        </fieldset>
    }
}

/// The row's live help: ClearML's form, the sentence, the next 5 runs.
#[component]
fn PreviewBox(row: Row) -> impl IntoView {
    view! {
        <div class="preview" aria-live="polite">
            {dynv(move || match row.preview.get() {
                Some(p) => view! {
                    <p class="sentence">{p.description}</p>
                    <p class="mono muted clearml">{p.clearml.join("; ")}</p>
                    {(!p.next.is_empty()).then(|| view! {
                        <div class="next-runs">
                            <span class="muted">"Next runs: "</span>
                            <ol class="next">{p.next.into_iter().map(|t| view! { <li><Time iso=t/></li> }).collect_view()}</ol>
                        </div>
                    })}
                }.into_any(),
                None if row.touched.get() && row.errors.with(Vec::is_empty) => view! { <p class="muted">"Checking…"</p> }.into_any(),
                None if row.touched.get() => view! { <p class="muted">"Fix the fields above to see the next runs."</p> }.into_any(),
                None => view! { <p class="muted">"Fill in the row to see when it runs."</p> }.into_any(),
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::is_under;

    #[test]
    fn an_error_path_is_under_a_field_only_past_a_bracket_or_dot() {
        assert!(is_under("times[2]", "times"));
        assert!(is_under("task_parameters.Args/batch", "task_parameters"));
        assert!(!is_under("times", "times"));
        assert!(!is_under("timezone", "times"));
        assert!(!is_under("days", "date"));
    }
}
