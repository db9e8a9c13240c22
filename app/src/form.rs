//! The instance form (create and edit) with the seed's fields, Import and Export Configuration.
//!
//! The Scheduled Tasks rows are uncontrolled inputs: each row is HTML from
//! [`crate::task_row`], its inputs hold what the user typed, and the form reads them when it
//! needs the task (live preview, Save, Export). One listener per event kind on the `<form>`
//! serves every row: typing marks the row touched and asks `/api/preview` (debounced) for its
//! next 5 runs, ClearML form and English sentence; the buttons add and remove times and rows.
//! The server's validation messages (`scheduled_tasks[1].times[0]`) land next to the fields
//! they name. The rest of the form (name, status, Save) is ordinary Leptos.

use crate::api::{bad_answer, read, Api, Created, FieldError, Preview};
use crate::html::escape;
use crate::json::Json;
use crate::route::{dashboard_href, go};
use crate::task_row::{self, Help, RowValues, Slot};
use crate::util::{download, dynv, file_name, focus, on, read_chosen_file, show, sig};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Element;

const FORMAT: &str = "clearml-task-scheduler/v1";
const DEBOUNCE: Duration = Duration::from_millis(350);
/// The element that holds the rows.
const ROWS_ID: &str = "task-rows";

/// What the form keeps about a row besides its inputs.
struct RowState {
    key: usize,
    /// The task's fields the form does not edit (`id`, `catch_up`, …), kept for the round trip.
    extra: Vec<(String, Json)>,
    /// The user changed something (or the row came from a file): live help is on.
    touched: bool,
    /// The live help shows a preview (kept while the user types, until the next answer).
    previewed: bool,
    /// The pending preview's timer, the number of the newest request (only its answer
    /// counts), and the task it asked about (a row asks again only when its task changed).
    timer: Option<TimeoutHandle>,
    seq: u32,
    asked: String,
}

fn next_key() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn query(el: &Element, css: &str) -> Option<Element> {
    el.query_selector(css).ok().flatten()
}

fn query_all(el: &Element, css: &str) -> Vec<Element> {
    let Ok(list) = el.query_selector_all(css) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into().ok())
        .collect()
}

/// A DOM property (`value`, `checked`) read without a web-sys type per kind of input.
fn prop(el: &Element, name: &str) -> JsValue {
    js_sys::Reflect::get(el, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn value(el: &Element) -> String {
    prop(el, "value").as_string().unwrap_or_default()
}

/// What a row's inputs hold now.
fn read_row(row: &Element, key: usize) -> RowValues {
    let field = |suffix: &str| {
        query(row, &format!("#t{key}-{suffix}"))
            .map(|e| value(&e))
            .unwrap_or_default()
    };
    let checked = |suffix: &str| {
        query(row, &format!("#t{key}-{suffix}")).is_some_and(|e| prop(&e, "checked").is_truthy())
    };
    RowValues {
        base_task_id: field("base"),
        destination_project: field("project"),
        queue: field("queue"),
        recurrence: field("recurrence"),
        times: query_all(row, ".time-input").iter().map(value).collect(),
        date: field("date"),
        weekdays: query_all(row, ".weekday:checked")
            .iter()
            .map(value)
            .collect(),
        days: field("days"),
        cron: field("cron"),
        timezone: field("tz"),
        enabled: checked("enabled"),
        single_instance: checked("single"),
        limit: field("limit"),
        params: field("params"),
    }
}

fn rows_element() -> Option<Element> {
    document().get_element_by_id(ROWS_ID)
}

fn row_element(key: usize) -> Option<Element> {
    query(&rows_element()?, &format!("[data-row=\"{key}\"]"))
}

/// The key of the row an event happened in, with the row.
fn event_row(ev: &web_sys::Event) -> Option<(Element, usize, Element)> {
    let target: Element = ev.target()?.dyn_into().ok()?;
    let row = target.closest(".task-row").ok()??;
    let key = row.get_attribute("data-row")?.parse().ok()?;
    Some((row, key, target))
}

/// "Task 1", "Task 2", … after rows come and go.
fn number_rows() {
    if let Some(rows) = rows_element() {
        for (i, legend) in query_all(&rows, ".task-row > legend").iter().enumerate() {
            legend.set_text_content(Some(&format!("Task {}", i + 1)));
        }
    }
}

/// A row's times: each labelled by its position, and the remove button off on the only one.
fn number_times(row: &Element) {
    let times = query_all(row, ".time");
    for (i, t) in times.iter().enumerate() {
        if let Some(label) = query(t, "label") {
            label.set_text_content(Some(&format!("Time {}", i + 1)));
        }
        if let Some(button) = query(t, ".remove-time") {
            let _ = if times.len() <= 1 {
                button.set_attribute("disabled", "")
            } else {
                button.remove_attribute("disabled")
            };
        }
    }
}

fn set_help(row: &Element, help: Help) {
    if let Some(b) = query(row, ".preview") {
        b.set_inner_html(&task_row::help_html(help));
    }
}

/// Shows a row's validation messages next to their fields (and clears the old ones).
fn place_errors(row: &Element, key: usize, errors: &[FieldError]) {
    for slot in query_all(row, ".field-msg") {
        slot.set_inner_html("");
    }
    for input in query_all(row, "[aria-invalid]") {
        let _ = input.remove_attribute("aria-invalid");
    }
    for e in errors {
        let by_id = |suffix: &str| query(row, &format!("#t{key}-{suffix}"));
        let (slot, input, text) = match task_row::slot(&e.path) {
            Slot::Field(id) => (by_id(&format!("{id}-msg")), by_id(id), e.message.clone()),
            Slot::Time(i) => match query_all(row, ".time").get(i) {
                Some(t) => (
                    query(t, ".field-msg"),
                    query(t, ".time-input"),
                    e.message.clone(),
                ),
                None => (by_id("times-msg"), None, e.message.clone()),
            },
            Slot::Row => (
                by_id("other-msg"),
                None,
                task_row::row_message(&e.path, &e.message),
            ),
        };
        if let Some(slot) = slot {
            let mut html = slot.inner_html();
            task_row::message_html(&mut html, &text);
            slot.set_inner_html(&html);
        }
        if let Some(input) = input {
            let _ = input.set_attribute("aria-invalid", "true");
        }
    }
}

/// Splits the save errors by row: `scheduled_tasks[1].times[0]` → row 1, `times[0]`.
fn route_errors(errors: &[FieldError], rows: usize) -> (Vec<FieldError>, Vec<Vec<FieldError>>) {
    let mut top = Vec::new();
    let mut per_row = vec![Vec::new(); rows];
    for e in errors {
        let routed = e.path.strip_prefix("scheduled_tasks[").and_then(|rest| {
            let (n, tail) = rest.split_once(']')?;
            let i: usize = n.parse().ok()?;
            (i < rows).then(|| (i, tail.trim_start_matches('.').to_string()))
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
    let rows = StoredValue::new(Vec::<RowState>::new());
    // The configuration's own messages (not a row's), as HTML: under the name, and the rest.
    let name_msgs = RwSignal::new(String::new());
    let form_msgs = RwSignal::new(String::new());
    let status = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let loaded = RwSignal::new(false);

    // The row's task, as the configuration file writes it, if the row is still there.
    let task_of = move |key: usize| -> Option<Json> {
        let row = row_element(key)?;
        let values = read_row(&row, key);
        rows.with_value(|rs| {
            let r = rs.iter().find(|r| r.key == key)?;
            Some(values.to_task(&r.extra))
        })
    };
    let with_row = move |key: usize, f: &mut dyn FnMut(&mut RowState)| {
        rows.update_value(|rs| {
            if let Some(r) = rs.iter_mut().find(|r| r.key == key) {
                f(r)
            }
        })
    };

    // Live preview: asks once the user pauses; only the newest answer counts.
    let preview = move |key: usize| {
        let Some(task) = task_of(key) else { return };
        let text = task.to_string();
        let mut mine = None;
        with_row(key, &mut |r| {
            if r.asked != text {
                r.asked = text.clone();
                r.seq += 1;
                mine = Some(r.seq);
            }
        });
        let Some(mine) = mine else { return };
        spawn_local(async move {
            let answer = api.preview(&task).await.and_then(read::<Preview>);
            let newest = rows.with_value(|rs| rs.iter().any(|r| r.key == key && r.seq == mine));
            let Some(row) = row_element(key).filter(|_| newest) else {
                return;
            };
            let errors = match answer {
                Ok(p) => {
                    set_help(&row, Help::Preview(&p));
                    Vec::new()
                }
                Err(e) if !e.errors.is_empty() => e.errors,
                Err(e) => vec![FieldError {
                    path: e.field.unwrap_or_default(),
                    message: e.message,
                }],
            };
            if !errors.is_empty() {
                set_help(&row, Help::Fix);
            }
            with_row(key, &mut |r| r.previewed = errors.is_empty());
            place_errors(&row, key, &errors);
        });
    };
    let touch = move |key: usize| {
        let mut first = false;
        with_row(key, &mut |r| {
            first = !r.touched;
            r.touched = true;
            if let Some(h) = r.timer.take() {
                h.clear();
            }
        });
        if first {
            if let Some(row) = row_element(key) {
                set_help(&row, Help::Checking);
            }
        }
        let timer = set_timeout_with_handle(move || preview(key), DEBOUNCE).ok();
        with_row(key, &mut |r| r.timer = timer);
    };

    let add_row = move |values: &RowValues, extra: Vec<(String, Json)>, touched: bool| {
        let Some(container) = rows_element() else {
            return;
        };
        let key = next_key();
        let html = task_row::row_html(key, values, &mut next_key);
        let _ = container.insert_adjacent_html("beforeend", &html);
        rows.update_value(|rs| {
            rs.push(RowState {
                key,
                extra,
                touched: false,
                previewed: false,
                timer: None,
                seq: 0,
                asked: String::new(),
            })
        });
        if let Some(row) = row_element(key) {
            number_times(&row);
        }
        if touched {
            touch(key);
        }
    };
    let fill = move |config: &Json, touched: bool| {
        name.set(config.str("name"));
        rows.update_value(|rs| {
            for r in rs.drain(..) {
                if let Some(h) = r.timer {
                    h.clear();
                }
            }
        });
        if let Some(container) = rows_element() {
            container.set_inner_html("");
        }
        let tasks = config
            .get("scheduled_tasks")
            .map(Json::as_array)
            .unwrap_or_default();
        for t in tasks {
            add_row(&RowValues::from_task(t), task_row::extra_fields(t), touched);
        }
        number_rows();
        name_msgs.set(String::new());
        form_msgs.set(String::new());
    };
    // Runs once the form is on the page: an edit fills it from the saved configuration, a new
    // instance starts with one blank row.
    let from_server = id.is_some();
    spawn_local(async move {
        let config = match id {
            Some(id) => api.instance(&id).await.and_then(|v| {
                v.get("config")
                    .cloned()
                    .ok_or_else(|| bad_answer("no config"))
            }),
            None => Ok(Json::parse(r#"{"scheduled_tasks":[{}]}"#).unwrap_or(Json::Null)),
        };
        match config {
            Ok(config) => {
                fill(&config, from_server);
                loaded.set(true);
            }
            Err(e) => status.set(Some(e.message)),
        }
    });

    let config = move || {
        let keys: Vec<usize> = rows.with_value(|rs| rs.iter().map(|r| r.key).collect());
        let tasks: Vec<Json> = keys.into_iter().filter_map(task_of).collect();
        let mut config = Json::object();
        config.set("format", FORMAT);
        config.set("name", name.get_untracked().trim());
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
                Some(id) => api.update(&id, body).await.map(|_| id),
                None => api
                    .create(body)
                    .await
                    .and_then(read::<Created>)
                    .map(|c| c.id),
            };
            saving.set(false);
            let e = match result {
                Ok(id) => return go(&dashboard_href(&id)),
                Err(e) => e,
            };
            let keys: Vec<usize> = rows.with_value(|rs| rs.iter().map(|r| r.key).collect());
            let (mut top, per_row) = route_errors(&e.errors, keys.len());
            for (key, errs) in keys.into_iter().zip(per_row) {
                let mut previewed = false;
                with_row(key, &mut |r| {
                    r.touched = true;
                    previewed = r.previewed;
                });
                if let Some(row) = row_element(key) {
                    if !errs.is_empty() && !previewed {
                        set_help(&row, Help::Fix);
                    }
                    place_errors(&row, key, &errs);
                }
            }
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
            let (name, rest) = top_messages(&top);
            name_msgs.set(name);
            form_msgs.set(rest);
        });
    };

    // One listener per event kind for every row's inputs and buttons.
    let changed = move |ev: leptos::ev::Event| {
        let Some((row, key, target)) = event_row(&ev) else {
            return;
        };
        if target.class_list().contains("recurrence") {
            row.set_class_name(&format!("card task-row rec-{}", value(&target)));
        }
        touch(key);
    };
    let clicked = move |ev: leptos::ev::MouseEvent| {
        let Some((row, key, target)) = event_row(&ev) else {
            return;
        };
        let Some(button) = target.closest("button").ok().flatten() else {
            return;
        };
        let class = button.class_list();
        if class.contains("add-time") {
            let html = task_row::time_html(key, next_key(), 0, "");
            let _ = button.insert_adjacent_html("beforebegin", &html);
            number_times(&row);
            focus(query_all(&row, ".time-input").pop());
        } else if class.contains("remove-time") {
            if let Some(t) = button.closest(".time").ok().flatten() {
                t.remove();
            }
            number_times(&row);
            // The focus was on the button just removed: keep it in the row.
            focus(query(&row, ".add-time"));
        } else if class.contains("remove-item") {
            row.remove();
            rows.update_value(|rs| rs.retain(|r| r.key != key));
            number_rows();
            focus(document().get_element_by_id("add-item"));
            return;
        } else {
            return;
        }
        touch(key);
    };

    let import = move |ev: leptos::ev::Event| {
        spawn_local(async move {
            let Some((file, body)) = read_chosen_file(&ev).await else {
                return;
            };
            match Json::parse(&body) {
                Ok(v) if v.get("scheduled_tasks").is_some() => {
                    fill(&v, true);
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
    let add_item = move |_| {
        add_row(&RowValues::blank(), Vec::new(), false);
        number_rows();
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
        <form class="instance-form" on:submit=on(save) on:input=on(changed) on:change=on(changed)
            on:click=on(clicked) novalidate aria-labelledby="form-title">
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
                            aria-describedby="instance-name-msg"/>
                        <div class="field-msg" id="instance-name-msg" aria-live="polite" inner_html=name_msgs></div>
                    </div>
                }.into_any(), || view! { <p class="muted loading">"Loading the configuration…"</p> }.into_any())}
            </section>
            <h2 class="section-title">"Scheduled Tasks"</h2>
            // The rows (task_row.rs): the page owns their inputs; Leptos leaves this element's
            // children alone.
            <div id=ROWS_ID></div>
            <button type="button" class="add" id="add-item" on:click=on(add_item)>"+ Add item"</button>
            <div class="card save-bar">
                <div inner_html=form_msgs></div>
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

/// The configuration's own messages as HTML: those about the name (under the name field), and
/// the rest as a list above Save (`path: message`).
fn top_messages(errors: &[FieldError]) -> (String, String) {
    let mut name = String::new();
    let mut rest = String::new();
    for e in errors {
        if e.path == "name" {
            task_row::message_html(&mut name, &e.message);
        } else {
            rest.push_str("<li>");
            escape(&mut rest, &task_row::row_message(&e.path, &e.message));
            rest.push_str("</li>");
        }
    }
    if !rest.is_empty() {
        rest = format!("<ul class=\"error-list\" role=\"alert\" id=\"form-errors\">{rest}</ul>");
    }
    (name, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_messages_go_under_the_name_and_the_rest_above_save() {
        let e = |path: &str, message: &str| FieldError {
            path: path.into(),
            message: message.into(),
        };
        let (name, rest) = top_messages(&[e("name", "too <long>"), e("", "bad"), e("format", "x")]);
        assert_eq!(name, r#"<p class="error">too &lt;long&gt;</p>"#);
        assert_eq!(
            rest,
            r#"<ul class="error-list" role="alert" id="form-errors"><li>bad</li><li>format: x</li></ul>"#
        );
        assert_eq!(top_messages(&[]), (String::new(), String::new()));
    }
}
