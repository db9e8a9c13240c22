//! The web app: a Leptos client-side app that talks to the worker's `/api`.
//!
//! | module | screen or job |
//! | --- | --- |
//! | [`api`] | every API call and the types of its answers; the admin token |
//! | [`route`] | hash routes (`#/instances/ID`), because static assets serve index.html only at `/` |
//! | [`instances`] | the instances list, import of a configuration file |
//! | [`form`] | the instance form (create and edit), live preview per row |
//! | [`dashboard`] | the dashboard (also read-only through a share link), the timeline |
//! | [`html`] | escaped HTML text: the pieces every screen's HTML builder uses, and why text |
//! | [`rows`] | the dashboard's title, tables and log as HTML text |
//! | [`share`] | share links and embed code |
//! | [`task_row`] | one scheduled-task row of the form: its values, its task, its HTML |
//! | [`json`] | a small JSON value: parse, read, write |
//! | [`util`] | times, durations, downloads, files, clipboard; type-erasing view helpers |

mod api;
mod bench;
mod dashboard;
mod form;
mod html;
mod instances;
mod json;
mod route;
mod rows;
mod share;
mod task_row;
mod util;

use api::Api;
use leptos::prelude::*;
use route::Route;
use util::{dynv, on, show};
use wasm_bindgen::prelude::wasm_bindgen;

/// Entry point, called by public/boot.js once the wasm is loaded.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    util::local_time_on_hover();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let api = Api::new();
    provide_context(api);
    let route = route::use_route();
    let signed_in = move || api.token.with(Option::is_some);
    let page = move || match route.get() {
        Route::Share(token) => {
            view! { <dashboard::Dashboard source=dashboard::Source::Share(token)/> }.into_any()
        }
        Route::Bench(n) => view! { <bench::Bench n=n/> }.into_any(),
        _ if !signed_in() => view! { <SignIn/> }.into_any(),
        Route::List => view! { <instances::InstanceList/> }.into_any(),
        Route::New => view! { <form::InstanceForm id=None/> }.into_any(),
        Route::Edit(id) => view! { <form::InstanceForm id=Some(id)/> }.into_any(),
        Route::Dashboard(id) => {
            view! { <dashboard::Dashboard source=dashboard::Source::Owner(id)/> }.into_any()
        }
    };
    let owner_nav = move || signed_in() && !matches!(route.get(), Route::Share(_));
    view! {
        <a class="skip" href="#main-content" on:click=on(|ev: leptos::ev::MouseEvent| {
            ev.prevent_default();
            if let Some(m) = document().get_element_by_id("main-content") {
                m.scroll_into_view();
            }
        })>"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="#/">"ClearML Task Scheduler"</a>
            {show(owner_nav, move || view! {
                <nav class="topnav" aria-label="Main">
                    <a href="#/">"Instances"</a>
                    <a href="#/new">"New instance"</a>
                    <button class="link" on:click=on(move |_| api.sign_out(None))>"Sign out"</button>
                </nav>
            }.into_any(), || ().into_any())}
        </header>
        <main id="main-content">{dynv(page)}</main>
        <footer class="footer"><HealthPanel/></footer>
    }
}

/// Paste the admin token; it is checked against the server, then kept in sessionStorage.
#[component]
fn SignIn() -> impl IntoView {
    let api = expect_context::<Api>();
    let token = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let t = token.get_untracked().trim().to_string();
        if t.is_empty() {
            error.set(Some("Paste the admin token first.".into()));
            return;
        }
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api.check_token(&t).await {
                Ok(()) => api.sign_in(t),
                Err(e) if e.status == 401 => error.set(Some(format!(
                    "The server refused this token (401: {}). Check the ADMIN_TOKEN of this deployment.",
                    e.message
                ))),
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card signin" aria-labelledby="signin-title">
            <h1 id="signin-title">"Sign in"</h1>
            <p class="muted">"Paste the admin token of this deployment (its ADMIN_TOKEN secret). It stays in this browser tab only."</p>
            {dynv(move || api.notice.get().map(|n| view! { <p class="error" role="alert" id="signin-notice">{n}</p> }))}
            <form on:submit=on(submit) novalidate>
                <label for="token">"Admin token"</label>
                <div class="inline">
                    <input id="token" type="password" autocomplete="current-password" required
                        bind:value=token/>
                    <button type="submit" class="primary" id="signin" disabled=move || busy.get()>
                        {dynv(move || if busy.get() { "Checking…" } else { "Sign in" })}
                    </button>
                </div>
            </form>
            {dynv(move || error.get().map(|e| view! { <p class="error" role="alert" id="signin-error">{e}</p> }))}
        </section>
    }
}

/// Shows what `/api/health` says: the worker's version and whether the cron ticks.
#[component]
fn HealthPanel() -> impl IntoView {
    let api = expect_context::<Api>();
    let health = RwSignal::new(html::muted("", "Checking the service…"));
    leptos::task::spawn_local(async move {
        let answer = api.health().await.and_then(api::read::<api::Health>);
        health.set(match answer {
            Ok(h) => health_html(&h),
            Err(e) => html::alert(&e.message),
        })
    });
    view! { <section class="health" aria-label="Service health" inner_html=health></section> }
}

fn health_html(h: &api::Health) -> String {
    let mut out = String::from(
        "<dl id=\"health\" class=\"facts-inline\"><dt>Version</dt><dd id=\"health-version\">",
    );
    html::escape(&mut out, &h.version);
    out.push_str("</dd><dt>Server time</dt><dd id=\"health-time\">");
    html::escape(&mut out, &h.time);
    out.push_str("</dd><dt>Last tick</dt><dd id=\"health-heartbeat\">");
    html::escape(&mut out, h.heartbeat.as_deref().unwrap_or("never"));
    out.push_str("</dd></dl>");
    out
}
