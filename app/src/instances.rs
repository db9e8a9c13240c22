//! The instances list: open, pause/resume, delete (confirmed), new, import a configuration file.

use crate::api::{Api, ApiError};
use crate::route::{dashboard_href, go};
use crate::util::{read_chosen_file, spawn_in_view, status, time_or, ViewTasks};
use crate::EditorLink;
use leptos::either::{Either, EitherOf3};
use leptos::html;
use leptos::prelude::*;
use scheduler_core::api::InstanceSummary;

#[component]
pub fn InstanceList() -> impl IntoView {
    let api = expect_context::<Api>();
    let list = LocalResource::new(move || {
        api.track_sign_in();
        api.instances()
    });
    // The newest list that loaded: rows stay on the page while the list reloads.
    let items = RwSignal::new(None::<Vec<InstanceSummary>>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move || match list.get() {
        Some(Ok(l)) => {
            error.set(None);
            items.set(Some(l.instances));
        }
        Some(Err(e)) => error.set(Some(e.message)),
        None => {}
    });
    let message = RwSignal::new(None::<String>);
    // Loading, empty or not: the table is drawn once and then keeps its rows in place.
    let state = Memo::new(move |_| items.with(|i| i.as_ref().map(Vec::is_empty)));
    let done = Callback::new(move |res: Result<(), ApiError>| match res {
        Ok(_) => {
            message.set(None);
            list.refetch();
        }
        Err(e) => message.set(Some(e.message)),
    });
    let import_failed = RwSignal::new(None::<(String, ApiError)>);
    let import = move |ev: leptos::ev::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        spawn_in_view(async move {
            let Some((name, text)) = read_chosen_file(input).await else {
                return;
            };
            import_failed.set(None);
            match api.create(text).await {
                Ok(created) => go(&dashboard_href(&created.id)),
                Err(e) => import_failed.set(Some((name, e))),
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="instances-title">
            <div class="card-head">
                <h1 id="instances-title">"Scheduler instances"</h1>
                <div class="actions">
                    <EditorLink class="button primary" href="#/new" id="new-instance">"New instance"</EditorLink>
                    <label class="button file">
                        "Import configuration"
                        <input type="file" id="import-instance" accept=".json,application/json" on:change=import/>
                    </label>
                </div>
            </div>
            {move || import_failed.get().map(|(file, e)| import_errors(file, e))}
            {move || message.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            {move || error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            {move || match state.get() {
                None => EitherOf3::A(error.with(Option::is_none).then(|| view! { <p class="muted loading">"Loading instances…"</p> })),
                Some(true) => EitherOf3::B(view! {
                    <div class="empty">
                        <p>"No scheduler instances yet."</p>
                        <p class="muted">"Create one with " <EditorLink href="#/new">"New instance"</EditorLink>", or import a configuration file."</p>
                    </div>
                }),
                Some(false) => EitherOf3::C(view! { <InstanceTable items done/> }),
            }}
        </section>
    }
}

#[component]
fn InstanceTable(
    items: RwSignal<Option<Vec<InstanceSummary>>>,
    done: Callback<Result<(), ApiError>>,
) -> impl IntoView {
    let ids = move || items.with(|l| l.iter().flatten().map(|i| i.id.clone()).collect::<Vec<_>>());
    view! {
        <div class="table-wrap">
            <table class="table" id="instances">
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col" class="num">"Tasks"</th><th scope="col">"Next run"</th>
                    <th scope="col">"Last run"</th><th scope="col">"State"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    <For each=ids key=|id| id.clone() let:id>
                        <InstanceRow id items done/>
                    </For>
                </tbody>
            </table>
        </div>
    }
}

/// One instance. The row stays on the page while its values change (Pause becomes Resume in
/// place), so the keyboard focus stays where it was.
#[component]
fn InstanceRow(
    id: String,
    items: RwSignal<Option<Vec<InstanceSummary>>>,
    done: Callback<Result<(), ApiError>>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let me = {
        let id = id.clone();
        Memo::new(move |_| items.with(|l| l.iter().flatten().find(|i| i.id == id).cloned()))
    };
    let field = move |f: fn(&InstanceSummary) -> String| {
        move || me.with(|i| i.as_ref().map(f).unwrap_or_default())
    };
    let paused = move || me.with(|i| i.as_ref().is_some_and(|i| i.paused));
    let href = dashboard_href(&id);
    let id = StoredValue::new(id);
    // One request at a time per row.
    let tasks = ViewTasks::here();
    let toggle = move |_| {
        let action = if paused() { "resume" } else { "pause" };
        tasks.spawn_alone(async move {
            done.run(api.set_instance(&id.get_value(), action).await.map(drop))
        });
    };
    let delete = move || {
        tasks.spawn_alone(async move {
            let res = api.delete(&id.get_value()).await;
            if res.is_ok() {
                // The row, and the focused button with it, is going away.
                crate::util::focus_id("new-instance");
            }
            done.run(res)
        });
    };
    view! {
        <tr data-id=id.get_value()>
            <td><a href=href.clone() class="strong">{field(|i| i.name.clone())}</a></td>
            <td class="num">{field(|i| i.task_count.to_string())}</td>
            <td>{move || time_or(me.with(|i| i.as_ref().and_then(|i| i.next_run.clone())), "—")}</td>
            <td>{move || match me.with(|i| i.as_ref().and_then(|i| i.last_run.as_ref().map(|r| r.status.clone()))) {
                Some(s) => Either::Left(status(s)),
                None => Either::Right(view! { <span class="muted">"never"</span> }),
            }}</td>
            <td>{move || if paused() {
                Either::Left(view! { <span class="badge paused">"Paused"</span> })
            } else {
                Either::Right(view! { <span class="badge active">"Active"</span> })
            }}</td>
            <td class="row-actions">
                <a class="button small" href=href>"Open"</a>
                <button class="small toggle" on:click=toggle>
                    {move || if paused() { "Resume" } else { "Pause" }}
                </button>
                <DeleteButton confirmed=Callback::new(move |_| delete())/>
            </td>
        </tr>
    }
}

/// Delete, then "Delete for good? Yes, delete / Cancel" in its place. Cancel, the harmless
/// choice, takes the focus; cancelling gives it back to Delete.
#[component]
fn DeleteButton(confirmed: Callback<()>) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let asked = RwSignal::new(false);
    let cancel_ref = NodeRef::<html::Button>::new();
    let delete_ref = NodeRef::<html::Button>::new();
    Effect::new(move || {
        if let Some(b) = cancel_ref.get() {
            let _ = b.focus();
        }
    });
    Effect::new(move || {
        if let Some(b) = delete_ref.get() {
            if asked.get_untracked() {
                let _ = b.focus();
            }
        }
    });
    view! {
        <span class="delete">
            {move || if confirming.get() {
                Either::Left(view! {
                    <span class="confirm" role="group" aria-label="Confirm delete">
                        "Delete for good? "
                        <button class="small danger confirm-delete" on:click=move |_| confirmed.run(())>"Yes, delete"</button>
                        <button class="small" node_ref=cancel_ref on:click=move |_| confirming.set(false)>"Cancel"</button>
                    </span>
                })
            } else {
                Either::Right(view! {
                    <button class="small danger" node_ref=delete_ref on:click=move |_| {
                        asked.set(true);
                        confirming.set(true);
                    }>"Delete"</button>
                })
            }}
        </span>
    }
}

/// Why a file was not imported: the server's message and each problem with its path.
fn import_errors(file: String, e: ApiError) -> impl IntoView {
    let problems = e.problems();
    view! {
        <div class="error-box" role="alert" id="import-errors">
            <p>{format!("{file} was not imported:")}</p>
            <ul>
                {problems.into_iter().map(|p| view! { <li>{p.to_string()}</li> }).collect_view()}
            </ul>
        </div>
    }
}
