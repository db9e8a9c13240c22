//! The instance form (create and edit) with the seed's fields, Import and Export Configuration.
//!
//! The whole form is state: the name and a list of rows ([`TaskRowState`], each a
//! [`TaskDraft`] in a signal). Save and Export validate the configuration with the core first,
//! so every problem is shown next to its field without a request; the server validates the
//! same way and its answer (a conflict, a lost connection) is shown the same way.

use crate::api::Api;
use crate::channels::{show_channel_problems, ChannelRowState, ChannelsSection};
use crate::route::{dashboard_href, go, LeaveGuard};
use crate::task_row::{TaskRow, TaskRowState};
use crate::util::{download, focus_id, now, read_chosen_file, spawn_in_view, ViewTasks};
use leptos::either::Either;
use leptos::prelude::*;
use scheduler_core::channels::ChannelDraft;
use scheduler_core::draft::{split_by_task, TaskDraft};
use scheduler_core::{
    export_file_name, parse_config_value, InstanceConfig, ValidationError, FORMAT_V1,
};
use serde_json::{json, Value};

/// "Not saved: 2 problems to fix, shown next to the fields."
fn problems_line(what: &str, errors: &[ValidationError]) -> String {
    let n = errors.len().max(1);
    let placed = errors.iter().any(|e| !e.path.is_empty());
    format!(
        "{what}: {n} problem{} to fix{}.",
        if n == 1 { "" } else { "s" },
        if placed {
            ", shown next to the fields"
        } else {
            ""
        }
    )
}

#[component]
pub fn InstanceForm(id: Option<String>) -> impl IntoView {
    let api = expect_context::<Api>();
    let editing = StoredValue::new(id.clone());
    let name = RwSignal::new(String::new());
    let rows = RwSignal::new(Vec::<TaskRowState>::new());
    // The configuration's own problems (the name, the document), from the last Save or Export.
    let top_errors = RwSignal::new(Vec::<ValidationError>::new());
    let status = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let loaded = RwSignal::new(false);
    // The revision the form was loaded at: a save says so (If-Match), so a save made meanwhile
    // elsewhere is not overwritten unawares. None once the user chose to overwrite it.
    let revision = StoredValue::new(None::<u64>);
    // The configuration's notification settings other than its channels, kept as loaded; the
    // channels are rows of their own (their URLs and secrets are hints the server keeps).
    let notifications = StoredValue::new(Value::Null);
    let channels = RwSignal::new(Vec::<ChannelRowState>::new());

    let fill = move |config: &Value, touched: bool| {
        name.set(config["name"].as_str().unwrap_or_default().to_string());
        let mut rest = config["notifications"].clone();
        let loaded_channels = rest
            .as_object_mut()
            .and_then(|n| n.remove("channels"))
            .and_then(|c| c.as_array().cloned())
            .unwrap_or_default();
        notifications.set_value(rest);
        channels.set(
            loaded_channels
                .iter()
                .map(|c| ChannelRowState::new(ChannelDraft::from_channel(c)))
                .collect(),
        );
        let tasks = config["scheduled_tasks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        rows.set(
            tasks
                .iter()
                .map(|t| TaskRowState::new(TaskDraft::from_task(t), touched))
                .collect(),
        );
        top_errors.set(Vec::new());
    };

    // The configuration as the form holds it (not yet checked).
    let document = move || -> Value {
        let tasks: Vec<Value> = rows.with_untracked(|rs| {
            rs.iter()
                .map(|r| r.draft.with_untracked(TaskDraft::to_task))
                .collect()
        });
        let mut doc = json!({"format": FORMAT_V1, "name": name.get_untracked().trim(), "scheduled_tasks": tasks});
        let list: Vec<Value> = channels.with_untracked(|cs| {
            cs.iter()
                .map(|c| c.draft.with_untracked(ChannelDraft::to_channel))
                .collect()
        });
        let mut n = notifications.get_value();
        if !list.is_empty() {
            if !n.is_object() {
                n = json!({});
            }
            n["channels"] = Value::Array(list);
        }
        if n.as_object().is_some_and(|o| !o.is_empty()) {
            doc["notifications"] = n;
        }
        doc
    };
    // The core's verdict on it: as of now for a save (a one-off time already past is refused,
    // as the server refuses it), or as a stored configuration for an export (the server
    // exports an instance whose one-off task has fired; so does the form).
    let validate = move |now: Option<_>| -> Result<InstanceConfig, Vec<ValidationError>> {
        parse_config_value(&document(), now).map_err(|e| e.into_iter().collect())
    };
    // The form as loaded (or as last saved): leaving with anything else asks first.
    let saved = StoredValue::new(None::<Value>);
    expect_context::<LeaveGuard>()
        .hold(move || saved.with_value(|s| s.as_ref().is_some_and(|s| *s != document())));

    // An edit fills the form from the saved configuration; a new instance starts with one
    // blank row. Loaded once into the form's own state (not kept as a resource to read: from
    // then on the form is the user's; a `LocalResource` and an effect copying it cost the
    // editor chunk 3.6 KB gzipped, measured, for the same behaviour).
    let from_server = id.is_some();
    // Why the configuration could not be loaded; Try again loads it anew.
    let load_error = RwSignal::new(None::<String>);
    // Each load is the form's own task, though Try again is pressed in the part of the view a
    // load replaces: the rows it fills must belong to the form, not to that part.
    let form = ViewTasks::here();
    let load = Callback::new(move |()| {
        load_error.set(None);
        form.spawn(async move {
            let config = match editing.get_value() {
                Some(id) => api.instance(&id).await.map(|d| {
                    revision.set_value(Some(d.revision));
                    d.config
                }),
                None => Ok(json!({"scheduled_tasks": [{}]})),
            };
            match config {
                Ok(config) => {
                    fill(&config, from_server);
                    saved.set_value(Some(document()));
                    loaded.set(true);
                }
                Err(e) => load_error.set(Some(e.message)),
            }
        })
    });
    load.run(());
    // A load the server refused (the session expired under the dialog) runs again once the
    // user has signed in again.
    Effect::new(move |first: Option<()>| {
        api.track_sign_in();
        if first.is_some() && load_error.with_untracked(Option::is_some) {
            load.run(());
        }
    });
    // Puts each problem next to its field (tasks' and channels' under their row, the rest
    // above Save).
    let show_problems = move |errors: &[ValidationError]| {
        let n = rows.with_untracked(Vec::len);
        let (top, per_row) = split_by_task(errors, n);
        rows.with_untracked(|rs| {
            for (row, errs) in rs.iter().zip(per_row) {
                row.touched.set(true);
                row.save_errors.set(errs);
            }
        });
        channels.with_untracked(|cs| show_channel_problems(cs, &top));
        top_errors.set(top);
    };

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // One save at a time. Save is not disabled meanwhile (a disabled button drops the
        // focus to the page, and the keyboard user's place with it): a second press does nothing.
        if saving.get_untracked() {
            return;
        }
        let config = match validate(Some(now())) {
            Ok(config) => config,
            Err(errors) => {
                show_problems(&errors);
                status.set(Some(problems_line("Not saved", &errors)));
                return;
            }
        };
        saving.set(true);
        status.set(None);
        show_problems(&[]);
        // What is saved is the form as it is now; an edit made while saving is still unsaved.
        let sent = document();
        spawn_in_view(async move {
            // Secrets typed here go to the server; kept ones go back as their hints.
            let body = config.to_json_with_secrets();
            let result = match editing.get_value() {
                Some(id) => api.update(&id, body, revision.get_value()).await,
                None => api.create(body).await,
            };
            // Still "saving" on success, until the dashboard replaces the form: a press that
            // lands meanwhile must not save again (for a new instance, a second instance).
            if result.is_err() {
                saving.set(false);
            }
            match result {
                Ok(answer) => {
                    saved.set_value(Some(sent));
                    go(&dashboard_href(&answer.id))
                }
                Err(e) if e.code == "stale_revision" => {
                    // The next Save overwrites what was saved meanwhile, if the user wants that.
                    revision.set_value(None);
                    status.set(Some(
                        "Not saved: this instance was saved elsewhere while you edited it. Press Save again to replace that version with yours, or Export yours to keep it and open the instance again to start from the saved one.".to_string(),
                    ));
                }
                Err(e) => {
                    let problems = e.problems();
                    show_problems(&problems);
                    status.set(Some(problems_line("Not saved", &problems)));
                }
            }
        });
    };

    let import = move |ev: leptos::ev::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        spawn_in_view(async move {
            let Some((file, text)) = read_chosen_file(input).await else {
                return;
            };
            // Read as the server reads a file (a key said twice in one object is refused).
            let line = match scheduler_core::parse::parse_json(&text) {
                // A configuration file goes into the form as it is, problems and all, to be
                // fixed there.
                Ok(v) if v.get("scheduled_tasks").is_some() => {
                    fill(&v, true);
                    // What the form cannot hold of the file (a value of the wrong type, a
                    // weekday it does not know, a key it does not edit) is not dropped in
                    // silence: the file's own problems that the form no longer has go next to
                    // their fields, as a Save's would.
                    let in_form = validate(None).err().unwrap_or_default();
                    let lost: Vec<ValidationError> = parse_config_value(&v, None)
                        .err()
                        .into_iter()
                        .flatten()
                        .filter(|e| !in_form.contains(e))
                        .collect();
                    show_problems(&lost);
                    if lost.is_empty() {
                        format!("Imported {file}: check the fields, then save.")
                    } else {
                        problems_line(&format!("Imported {file}, not as it is"), &lost)
                    }
                }
                Ok(Value::Array(_)) => format!(
                    "{file} is a ClearML SDK schedule list: import it from the instances list (Import configuration), then edit it."
                ),
                Ok(_) => format!("{file} has no \"scheduled_tasks\": it is not a scheduler configuration."),
                Err(e) => format!("{file} was not imported: {e}"),
            };
            status.set(Some(line));
        });
    };
    // The canonical file, byte for byte what the server exports for the same configuration.
    let export = move |_| match validate(None) {
        Ok(config) => {
            show_problems(&[]);
            download(
                &export_file_name(config.name()),
                &config.to_json(),
                "application/json",
            )
        }
        Err(errors) => {
            show_problems(&errors);
            status.set(Some(problems_line("Not exported", &errors)));
        }
    };
    let add_item =
        move |_| rows.update(|rs| rs.push(TaskRowState::new(TaskDraft::default(), false)));
    let remove = Callback::new(move |key: usize| {
        rows.update(|rs| rs.retain(|r| r.key != key));
        // The focus was on the row's Remove button.
        focus_id("add-item");
    });
    let title = if editing.with_value(Option::is_some) {
        "Edit scheduler instance"
    } else {
        "New scheduler instance"
    };
    let cancel = editing
        .with_value(|e| e.as_deref().map(dashboard_href))
        .unwrap_or_else(|| "#/".into());
    let name_errors = move || {
        top_errors.with(|e| {
            e.iter()
                .filter(|e| e.path == "name")
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
        })
    };
    let other_errors = move || {
        top_errors.with(|e| {
            e.iter()
                .filter(|e| e.path != "name" && !e.path.starts_with("notifications.channels["))
                .map(ValidationError::to_string)
                .collect::<Vec<_>>()
        })
    };

    view! {
        <form class="instance-form" on:submit=save novalidate aria-labelledby="form-title">
            <section class="card">
                <div class="card-head">
                    <h1 id="form-title">{title}</h1>
                    <div class="actions">
                        // Not before the configuration is loaded: the load would replace an
                        // import, and an export would be of an empty form.
                        <label class="button file" class:disabled=move || !loaded.get()>
                            "Import Configuration"
                            <input type="file" id="import-config" accept=".json,application/json" on:change=import
                                disabled=move || !loaded.get()/>
                        </label>
                        <button type="button" id="export-config" on:click=export disabled=move || !loaded.get()>"Export Configuration"</button>
                    </div>
                </div>
                {move || if !loaded.get() {
                    Either::Left(match load_error.get() {
                        None => Either::Left(view! { <p class="muted loading">"Loading the configuration…"</p> }),
                        Some(e) => Either::Right(view! {
                            <div role="alert">
                                <p class="error" id="load-error">{format!("The configuration could not be loaded: {e}")}</p>
                                <button type="button" id="load-retry" on:click=move |_| load.run(())>"Try again"</button>
                            </div>
                        }),
                    })
                } else { Either::Right(view! {
                    <div class="field">
                        <label for="instance-name">"Scheduling Job Name"</label>
                        <input id="instance-name" type="text" bind:value=name placeholder="Nightly retraining"
                            aria-describedby="instance-name-msg"
                            aria-invalid=move || (!name_errors().is_empty()).then_some("true")/>
                        <div class="field-msg" id="instance-name-msg" aria-live="polite">
                            {move || name_errors().into_iter().map(|m| view! { <p class="error">{m}</p> }).collect_view()}
                        </div>
                    </div>
                })}}
            </section>
            <h2 class="section-title">"Scheduled Tasks"</h2>
            <div id="task-rows">
                <For each=move || rows.get() key=|r| r.key let:row>
                    <TaskRow row remove
                        index=Signal::derive(move || rows.with(|rs| rs.iter().position(|r| r.key == row.key).unwrap_or(0)))/>
                </For>
            </div>
            <button type="button" class="add" id="add-item" on:click=add_item disabled=move || !loaded.get()>"+ Add item"</button>
            <ChannelsSection channels instance=editing loaded=loaded.into()/>
            <div class="card save-bar">
                {move || {
                    let errors = other_errors();
                    (!errors.is_empty()).then(|| view! {
                        <ul class="error-list" role="alert" id="form-errors">
                            {errors.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                        </ul>
                    })
                }}
                {move || status.get().map(|s| view! { <p class="status-line" role="status" id="form-status">{s}</p> })}
                <div class="actions">
                    <a class="button" href=cancel>"Cancel"</a>
                    <button type="submit" class="primary" id="save" disabled=move || !loaded.get()
                        aria-disabled=move || saving.get().then_some("true")>
                        {move || if saving.get() { "Saving…" } else { "Save" }}
                    </button>
                </div>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_counts_the_problems_and_says_where_they_are() {
        let e = |path: &str| ValidationError {
            path: path.into(),
            message: "m".into(),
        };
        assert_eq!(
            problems_line("Not saved", &[e("name"), e("scheduled_tasks[0].queue")]),
            "Not saved: 2 problems to fix, shown next to the fields."
        );
        assert_eq!(
            problems_line("Not saved", &[e("")]),
            "Not saved: 1 problem to fix."
        );
    }
}
