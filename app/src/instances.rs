//! The instances list: open, pause/resume, delete (confirmed), new, import a configuration file.
//!
//! The table is HTML text (see [`crate::html`]); one listener on it serves every row's buttons
//! by their `data-action` and the row's `data-id`.

use crate::api::{read, read_list, Api, ApiError, Created, InstanceSummary};
use crate::html::{alert, el, escape, muted, status, time_or};
use crate::route::{dashboard_href, go};
use crate::util::{click_target, dynv, find_by_attr, focus, focus_lost, on, read_chosen_file};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// A row's Delete button, and what replaces it until the user confirms or cancels.
const DELETE: &str = r#"<button class="small danger" data-action="delete">Delete</button>"#;
const CONFIRM: &str = concat!(
    r#"<span class="confirm" role="group" aria-label="Confirm delete">Delete for good? "#,
    r#"<button class="small danger confirm-delete" data-action="confirm-delete">Yes, delete</button>"#,
    r#"<button class="small" data-action="cancel-delete">Cancel</button></span>"#
);

/// The table of instances, or the empty state.
fn list_html(items: &[InstanceSummary]) -> String {
    if items.is_empty() {
        return concat!(
            r#"<div class="empty"><p>No scheduler instances yet.</p><p class="muted">Create one with "#,
            r##"<a href="#/new">New instance</a>, or import a configuration file.</p></div>"##
        )
        .to_string();
    }
    let mut out = String::from(concat!(
        r#"<div class="table-wrap"><table class="table" id="instances"><thead><tr>"#,
        r#"<th scope="col">Name</th><th scope="col" class="num">Tasks</th><th scope="col">Next run</th>"#,
        r#"<th scope="col">Last run</th><th scope="col">State</th>"#,
        r#"<th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>"#
    ));
    for i in items {
        let mut href = String::new();
        escape(&mut href, &dashboard_href(&i.id));
        out.push_str("<tr data-id=\"");
        escape(&mut out, &i.id);
        out.push_str(&format!("\"><td><a href=\"{href}\" class=\"strong\">"));
        escape(&mut out, &i.name);
        out.push_str("</a></td>");
        el(&mut out, "td", "num", &i.task_count);
        out.push_str("<td>");
        time_or(&mut out, i.next_run.as_deref(), "—");
        out.push_str("</td><td>");
        match &i.last_run {
            Some(l) => status(&mut out, &l.status),
            None => el(&mut out, "span", "muted", "never"),
        }
        out.push_str("</td><td>");
        if i.paused {
            el(&mut out, "span", "badge paused", "Paused");
        } else {
            el(&mut out, "span", "badge active", "Active");
        }
        out.push_str(&format!(
            "</td><td class=\"row-actions\"><a class=\"button small\" href=\"{href}\">Open</a>"
        ));
        out.push_str(if i.paused {
            r#"<button class="small toggle" data-action="resume">Resume</button>"#
        } else {
            r#"<button class="small toggle" data-action="pause">Pause</button>"#
        });
        out.push_str("<span class=\"delete\">");
        out.push_str(DELETE);
        out.push_str("</span></td></tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// Why a file was not imported: the server's message and each problem with its path.
fn import_errors_html(file: &str, e: &ApiError) -> String {
    let mut out = String::from(r#"<div class="error-box" role="alert" id="import-errors">"#);
    el(&mut out, "p", "", &format!("{file} was not imported:"));
    out.push_str("<ul>");
    if e.errors.is_empty() {
        el(&mut out, "li", "", &e.message);
    }
    for f in &e.errors {
        el(&mut out, "li", "", &format!("{}: {}", f.path, f.message));
    }
    out.push_str("</ul></div>");
    out
}

#[component]
pub fn InstanceList() -> impl IntoView {
    let api = expect_context::<Api>();
    let list = RwSignal::new(muted("loading", "Loading instances…"));
    let message = RwSignal::new(None::<String>);
    // The row whose Pause or Resume was pressed, or "" after a delete: the redrawn list drops
    // the focus, which then goes to that row's new button (or to New instance).
    let pressed = StoredValue::new(None::<String>);
    let reload = move || {
        spawn_local(async move {
            let answer = api.instances().await;
            list.set(
                match answer.and_then(|v| read_list::<InstanceSummary>(v, "instances")) {
                    Ok(items) => list_html(&items),
                    Err(e) => alert(&e.message),
                },
            );
            // After the list's redraw is on the page.
            request_animation_frame(move || {
                let Some(id) = pressed.get_value().filter(|_| focus_lost()) else {
                    return;
                };
                pressed.set_value(None);
                focus(if id.is_empty() {
                    document().get_element_by_id("new-instance")
                } else {
                    find_by_attr("#instances tr[data-id]", "data-id", &id)
                        .and_then(|row| row.query_selector(".toggle").ok().flatten())
                });
            });
        })
    };
    reload();
    let import_errors = RwSignal::new(String::new());
    let import = move |ev: leptos::ev::Event| {
        spawn_local(async move {
            let Some((name, text)) = read_chosen_file(&ev).await else {
                return;
            };
            import_errors.set(String::new());
            match api.create(text).await.and_then(read::<Created>) {
                Ok(created) => go(&dashboard_href(&created.id)),
                Err(e) => {
                    import_errors.set(import_errors_html(&name, &e));
                }
            }
        });
    };
    // Every row's buttons: pause, resume, delete (asks first, in place of the button).
    let clicked = move |ev: leptos::ev::MouseEvent| {
        let Some(button) = click_target(&ev, "button[data-action]") else {
            return;
        };
        let Some(row) = button.closest("tr[data-id]").ok().flatten() else {
            return;
        };
        let id = row.get_attribute("data-id").unwrap_or_default();
        let action = button.get_attribute("data-action").unwrap_or_default();
        let confirm_slot = || row.query_selector(".delete").ok().flatten();
        let done = move |res: Result<String, ApiError>| match res {
            Ok(_) => {
                message.set(None);
                reload()
            }
            Err(e) => message.set(Some(e.message)),
        };
        match action.as_str() {
            "delete" | "cancel-delete" => {
                if let Some(slot) = confirm_slot() {
                    let confirming = action == "delete";
                    slot.set_inner_html(if confirming { CONFIRM } else { DELETE });
                    // Cancel, the harmless choice, takes the focus; then back to Delete.
                    let target = if confirming {
                        ".confirm button:last-child"
                    } else {
                        "button"
                    };
                    focus(slot.query_selector(target).ok().flatten());
                }
            }
            "confirm-delete" => {
                pressed.set_value(Some(String::new()));
                spawn_local(async move { done(api.delete(&id).await) })
            }
            "pause" | "resume" => {
                pressed.set_value(Some(id.clone()));
                spawn_local(async move { done(api.set_instance(&id, &action).await) })
            }
            _ => {}
        }
    };

    view! {
        <section class="card" aria-labelledby="instances-title">
            <div class="card-head">
                <h1 id="instances-title">"Scheduler instances"</h1>
                <div class="actions">
                    <a class="button primary" href="#/new" id="new-instance">"New instance"</a>
                    <label class="button file">
                        "Import configuration"
                        <input type="file" id="import-instance" accept=".json,application/json" on:change=on(import)/>
                    </label>
                </div>
            </div>
            <div inner_html=import_errors></div>
            {dynv(move || message.get().map(|m| view! { <p class="error" role="alert">{m}</p> }))}
            <div inner_html=list on:click=on(clicked)></div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::LastRun;

    fn instance(id: &str, paused: bool, last: Option<&str>) -> InstanceSummary {
        InstanceSummary {
            id: id.into(),
            name: "Nightly <retrain>".into(),
            task_count: "2".into(),
            paused,
            next_run: Some("2026-11-26T06:20:00Z".into()),
            last_run: last.map(|s| LastRun {
                status: s.into(),
                started: None,
            }),
        }
    }

    #[test]
    fn rows_link_to_the_dashboard_with_state_and_actions() {
        let html = list_html(&[
            instance("a b", false, Some("completed")),
            instance("c", true, None),
        ]);
        assert!(html.contains(r##"<tr data-id="a b"><td><a href="#/instances/a%20b" class="strong">Nightly &lt;retrain&gt;</a></td><td class="num">2</td>"##), "{html}");
        assert!(html.contains(r#"<span class="status st-completed">completed</span>"#));
        assert!(html.contains(r#"<span class="muted">never</span>"#));
        assert!(html.contains(r#"<span class="badge active">Active</span>"#));
        assert!(html.contains(r#"<span class="badge paused">Paused</span>"#));
        assert!(
            html.contains(r#"data-action="pause">Pause<"#)
                && html.contains(r#"data-action="resume">Resume<"#)
        );
        assert_eq!(html.matches(DELETE).count(), 2);
        assert!(list_html(&[]).contains("No scheduler instances yet."));
    }

    #[test]
    fn an_import_that_failed_lists_every_problem_with_its_path() {
        let e = ApiError {
            message: "invalid configuration".into(),
            errors: vec![crate::api::FieldError {
                path: "scheduled_tasks[0].times[0]".into(),
                message: "\"25:00\" is not a time".into(),
            }],
            ..Default::default()
        };
        let html = import_errors_html("a.json", &e);
        assert!(html.contains("<p>a.json was not imported:</p><ul><li>scheduled_tasks[0].times[0]: &quot;25:00&quot; is not a time</li></ul>"), "{html}");
        let e = ApiError {
            message: "not JSON".into(),
            ..Default::default()
        };
        assert!(import_errors_html("a.json", &e).contains("<ul><li>not JSON</li></ul>"));
    }
}
