//! The instances list: open, pause/resume, delete (confirmed), new, import a configuration file.

use crate::api::{Api, InstanceSummary};
use crate::route::{dashboard_href, go};
use crate::util::{dynv, on, read_chosen_file, show, status_class, time_or};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn InstanceList() -> impl IntoView {
    let api = expect_context::<Api>();
    let list = RwSignal::new(None::<Result<Vec<InstanceSummary>, String>>);
    let message = RwSignal::new(None::<String>);
    let reload = move || {
        spawn_local(async move {
            list.set(Some(api.instances().await.map_err(|e| e.message)));
        })
    };
    reload();
    let import_errors = RwSignal::new(Vec::<String>::new());
    let import = move |ev: leptos::ev::Event| {
        spawn_local(async move {
            let Some((name, text)) = read_chosen_file(&ev).await else {
                return;
            };
            import_errors.set(Vec::new());
            match api.create(text).await {
                Ok(created) => go(&dashboard_href(&created.id)),
                Err(e) => {
                    let mut lines = vec![format!("{name}: {}", e.message)];
                    lines.extend(
                        e.errors
                            .iter()
                            .map(|f| format!("{}: {}", f.path, f.message)),
                    );
                    import_errors.set(lines);
                }
            }
        });
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
            {dynv(move || (!import_errors.get().is_empty()).then(|| view! {
                <div class="error-box" role="alert" id="import-errors">
                    <p>"The file was not imported:"</p>
                    <ul>{import_errors.get().into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                </div>
            }))}
            {dynv(move || message.get().map(|m| view! { <p class="error" role="alert">{m}</p> }))}
            {dynv(move || match list.get() {
                None => view! { <p class="muted loading">"Loading instances…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Some(Ok(items)) if items.is_empty() => view! {
                    <div class="empty">
                        <p>"No scheduler instances yet."</p>
                        <p class="muted">"Create one with " <a href="#/new">"New instance"</a> ", or import a configuration file."</p>
                    </div>
                }.into_any(),
                Some(Ok(items)) => view! {
                    <div class="table-wrap">
                        <table class="table" id="instances">
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col" class="num">"Tasks"</th>
                                <th scope="col">"Next run"</th><th scope="col">"Last run"</th>
                                <th scope="col">"State"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                            </tr></thead>
                            <tbody>
                                {items.into_iter().map(|i| view! { <InstanceRow i=i reload=reload message=message/> }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            })}
        </section>
    }
}

#[component]
fn InstanceRow(
    i: InstanceSummary,
    reload: impl Fn() + Copy + Send + Sync + 'static,
    message: RwSignal<Option<String>>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let confirming = RwSignal::new(false);
    let id = StoredValue::new(i.id.clone());
    let paused = i.paused;
    let toggle = move |_| {
        spawn_local(async move {
            let action = if paused { "resume" } else { "pause" };
            match api.set_instance(&id.get_value(), action).await {
                Ok(()) => reload(),
                Err(e) => message.set(Some(e.message)),
            }
        })
    };
    let delete = move |_| {
        spawn_local(async move {
            match api.delete(&id.get_value()).await {
                Ok(()) => reload(),
                Err(e) => message.set(Some(e.message)),
            }
        })
    };
    let last = i.last_run.clone();
    view! {
        <tr data-id=i.id.clone()>
            <td><a href=dashboard_href(&i.id) class="strong">{i.name.clone()}</a></td>
            <td class="num">{i.task_count}</td>
            <td>{time_or(i.next_run.clone(), "—")}</td>
            <td>{match last {
                Some(l) => {
                    let class = format!("status {}", status_class(&l.status));
                    view! { <span class=class>{l.status}</span> }.into_any()
                }
                None => view! { <span class="muted">"never"</span> }.into_any(),
            }}</td>
            <td>{if paused { view! { <span class="badge paused">"Paused"</span> } } else { view! { <span class="badge active">"Active"</span> } }}</td>
            <td class="row-actions">
                <a class="button small" href=dashboard_href(&i.id)>"Open"</a>
                <button class="small" on:click=on(toggle)>{if paused { "Resume" } else { "Pause" }}</button>
                {show(move || confirming.get(), move || view! {
                    <span class="confirm" role="group" aria-label="Confirm delete">
                        "Delete for good? "
                        <button class="small danger confirm-delete" on:click=on(delete)>"Yes, delete"</button>
                        <button class="small" on:click=on(move |_| confirming.set(false))>"Cancel"</button>
                    </span>
                }.into_any(), move || view! { <button class="small danger" on:click=on(move |_| confirming.set(true))>"Delete"</button> }.into_any())}
            </td>
        </tr>
    }
}
