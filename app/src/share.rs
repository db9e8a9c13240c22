//! Share links: create, copy and revoke a read-only link and the embed code of the timeline.

use crate::api::{Api, NewShare, ShareInfo};
use crate::util::{copy, dynv, on, Time};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The app's read-only dashboard URL for a share token (hash route, served at `/`).
fn app_url(share: &NewShare) -> String {
    if share.url.contains("#/share/") && share.url.starts_with("http") {
        return share.url.clone();
    }
    let origin = window().location().origin().unwrap_or_default();
    format!("{origin}/#/share/{}", crate::api::seg(&share.token))
}

fn absolute(url: &str) -> String {
    if url.starts_with("http") {
        url.to_string()
    } else {
        format!("{}{url}", window().location().origin().unwrap_or_default())
    }
}

#[component]
pub fn SharePanel(id: String) -> impl IntoView {
    let api = expect_context::<Api>();
    let id = StoredValue::new(id);
    let created = RwSignal::new(None::<NewShare>);
    let shares = RwSignal::new(Vec::<ShareInfo>::new());
    let error = RwSignal::new(None::<String>);
    let reload = move || {
        spawn_local(async move {
            match api.shares(&id.get_value()).await {
                Ok(s) => shares.set(s),
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    reload();
    let create = move |_| {
        spawn_local(async move {
            match api.create_share(&id.get_value()).await {
                Ok(s) => {
                    error.set(None);
                    created.set(Some(s));
                    reload();
                }
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    let revoke = move |share: String| {
        spawn_local(async move {
            match api.revoke_share(&id.get_value(), &share).await {
                Ok(()) => {
                    created.set(None);
                    reload();
                }
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    view! {
        <section class="card" aria-labelledby="share-title">
            <div class="card-head">
                <h2 id="share-title">"Share"</h2>
                <button id="create-share" on:click=on(create)>"Create share link"</button>
            </div>
            <p class="muted">"Anyone with a share link sees this dashboard read-only, without signing in. Revoke a link to close it."</p>
            {dynv(move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> }))}
            {dynv(move || created.get().map(|s| {
                let url = app_url(&s);
                let svg = absolute(&s.embed_url);
                let img = format!("<img src=\"{svg}\" alt=\"Task Scheduler timeline\">");
                let iframe = format!("<iframe src=\"{svg}\" title=\"Task Scheduler timeline\" width=\"800\" height=\"300\"></iframe>");
                view! {
                    <div class="share-new">
                        <CopyField id="share-url" label="Share link (read-only dashboard)" value=url/>
                        <CopyField id="embed-img" label="Embed code (image)" value=img/>
                        <CopyField id="embed-iframe" label="Embed code (iframe)" value=iframe/>
                    </div>
                }
            }))}
            // A short list, redrawn whole when it changes (a share is created or revoked).
            {dynv(move || {
                let list = shares.get();
                if list.is_empty() {
                    return view! { <p class="muted">"No share links."</p> }.into_any();
                }
                view! {
                    <ul class="shares" id="shares">
                        {list.into_iter().map(|s| {
                            let sid = s.id;
                            view! {
                                <li>
                                    <span class="mono">{format!("…{}", s.hint)}</span>
                                    " created " <Time iso=s.created_at/>
                                    <button class="small danger revoke" on:click=on(move |_| revoke(sid.clone()))>"Revoke"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </section>
    }
}

/// A read-only text field with its label and a Copy button.
#[component]
fn CopyField(id: &'static str, label: &'static str, value: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let v = StoredValue::new(value.clone());
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <div class="inline">
                <input id=id type="text" readonly value=value/>
                <button class="small" on:click=on(move |_| { copy(&v.get_value()); copied.set(true); })>
                    {dynv(move || if copied.get() { "Copied" } else { "Copy" })}
                </button>
            </div>
        </div>
    }
}
