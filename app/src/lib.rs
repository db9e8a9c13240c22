//! The web app: a Leptos client-side app that talks to the worker's `/api`.
//!
//! | module | screen or job |
//! | --- | --- |
//! | [`api`] | every API call, read as the core's contract types; the admin token |
//! | [`route`] | hash routes (`#/instances/ID`), because static assets serve index.html only at `/` |
//! | [`instances`] | the instances list, import of a configuration file |
//! | [`form`] | the instance form (create and edit): the whole form as state |
//! | [`task_row`] | one scheduled task of the form, with its live preview (computed here) |
//! | [`channels`] | the form's notification channels (secrets write-only, Send test) |
//! | [`dashboard`] | the dashboard (also read-only through a share link), the timeline |
//! | [`share`] | share links and embed code |
//! | [`zones`] | time zone data, fetched from the worker the first time a zone is used |
//! | [`util`] | times, durations, downloads, files, clipboard; the time and status views |
//! | [`editor_page`] | the editor pages (the form, the preview bench): a wasm chunk of their own |
//! | [`bench`] | `#/bench/N` (a synthetic dashboard) and `#/bench/preview`, for the benchmarks |
//!
//! Validation, the live preview and time zones are the core's (`scheduler-core`, linked here):
//! what the form says is what the server will say.

mod api;
mod bench;
mod channels;
mod dashboard;
mod form;
mod instances;
mod route;
mod share;
mod task_row;
mod util;
mod zones;

use api::Api;
use leptos::either::EitherOf3;
use leptos::prelude::*;
use route::Route;
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
    provide_context(zones::Zones::new());
    let guard = route::LeaveGuard::new();
    provide_context(guard);
    let route = route::use_route(guard);
    // A session the server expired keeps its page (under the sign-in dialog): a memo, so the
    // page is not rebuilt when the token goes and comes back.
    let signed_in = Memo::new(move |_| api.token.with(Option::is_some) || api.expired.get());
    let page = move || match route.get() {
        Route::Share(token) => {
            view! { <dashboard::Dashboard source=dashboard::Source::Share(token)/> }.into_any()
        }
        Route::Bench(n) => view! { <bench::Bench n=n/> }.into_any(),
        Route::PreviewBench(after) => {
            view! { <Editor page=EditorPage::PreviewBench(after)/> }.into_any()
        }
        _ if !signed_in.get() => view! { <SignIn/> }.into_any(),
        Route::List => view! { <instances::InstanceList/> }.into_any(),
        Route::New => view! { <Editor page=EditorPage::Form(None)/> }.into_any(),
        Route::Edit(id) => view! { <Editor page=EditorPage::Form(Some(id))/> }.into_any(),
        Route::Dashboard(id) => {
            view! { <dashboard::Dashboard source=dashboard::Source::Owner(id)/> }.into_any()
        }
    };
    let owner_nav = move || signed_in.get() && !matches!(route.get(), Route::Share(_));
    let expired = move || api.expired.get() && !matches!(route.get(), Route::Share(_));
    view! {
        <a class="skip" href="#main-content" inert=expired on:click=|ev| {
            ev.prevent_default();
            if let Some(m) = document().get_element_by_id("main-content") {
                m.scroll_into_view();
            }
        }>"Skip to content"</a>
        <header class="topbar" inert=expired>
            <a class="brand" href="#/">"ClearML Task Scheduler"</a>
            <Show when=owner_nav>
                <nav class="topnav" aria-label="Main">
                    <a href="#/">"Instances"</a>
                    <EditorLink href="#/new">"New instance"</EditorLink>
                    <button class="link" on:click=move |_| if guard.may_leave() { api.sign_out() }>"Sign out"</button>
                </nav>
            </Show>
        </header>
        <main id="main-content" inert=expired>{page}</main>
        <footer class="footer" inert=expired><HealthPanel/></footer>
        <Show when=expired>
            <div class="modal" role="dialog" aria-modal="true" aria-labelledby="signin-title" id="signin-dialog">
                <SignIn/>
            </div>
        </Show>
    }
}

/// A page of the editor chunk.
#[derive(Clone)]
pub enum EditorPage {
    /// The instance form: a new instance, or the one with this id.
    Form(Option<String>),
    /// The preview benchmark's form row (see [`bench`]).
    PreviewBench(Option<String>),
}

/// The pages that edit a configuration, with what only they need (the core's validation, live
/// preview and time zones, the channel rows): a wasm chunk of their own, split off at build time
/// by wasm-split-cli (scripts/build.sh) and fetched the first time an editor page opens, so the
/// dashboard, a share link and the instances list never download it.
#[leptos::wasm_split::wasm_split(
    editor,
    wasm_split_path = ::leptos::wasm_split,
    fallible,
    preload(preload_editor)
)]
fn editor_page(page: EditorPage) -> Result<AnyView, leptos::wasm_split::SplitLoaderError> {
    Ok(match page {
        EditorPage::Form(id) => view! { <form::InstanceForm id/> }.into_any(),
        EditorPage::PreviewBench(after) => view! { <bench::PreviewBench after/> }.into_any(),
    })
}

/// A link to an editor page that starts downloading the editor's chunk as soon as the pointer
/// or the focus is on it, so the page usually opens without waiting (a failed download is
/// simply tried again when the page opens).
#[component]
pub fn EditorLink(
    #[prop(into)] href: String,
    #[prop(optional)] id: Option<&'static str>,
    #[prop(optional)] class: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let prefetch = move || {
        leptos::task::spawn_local(async {
            let _ = preload_editor().await;
        })
    };
    view! {
        <a href=href id=id class=class on:pointerenter=move |_| prefetch() on:focus=move |_| prefetch()>
            {children()}
        </a>
    }
}

/// An editor page once its chunk is loaded; if the download fails, why, and a way to try again
/// (a failed load is not remembered, so the next attempt fetches anew).
#[component]
fn Editor(page: EditorPage) -> impl IntoView {
    let attempt = RwSignal::new(0u32);
    let page = StoredValue::new(page);
    let loaded = move || {
        attempt.track();
        let page = page.get_value();
        Suspend::new(async move {
            editor_page(page).await.unwrap_or_else(|e| {
                view! {
                    <section class="card" aria-labelledby="chunk-error">
                        <p class="error" role="alert" id="chunk-error">
                            {format!("The editor could not be downloaded ({e}). Check the connection, then try again.")}
                        </p>
                        <button class="primary" id="chunk-retry" on:click=move |_| attempt.update(|n| *n += 1)>
                            "Try again"
                        </button>
                    </section>
                }
                .into_any()
            })
        })
    };
    view! {
        <Suspense fallback=|| view! { <p class="muted loading" id="chunk-loading">"Loading the editor…"</p> }>
            {loaded}
        </Suspense>
    }
}

/// Paste the admin token; it is checked against the server, then kept in sessionStorage.
#[component]
fn SignIn() -> impl IntoView {
    let api = expect_context::<Api>();
    let guard = expect_context::<route::LeaveGuard>();
    let token = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The token field has the focus: the one thing to do here (the dialog opens over a page).
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let t = token.get_untracked().trim().to_string();
        if t.is_empty() {
            error.set(Some("Paste the admin token first.".into()));
            return;
        }
        busy.set(true);
        error.set(None);
        util::spawn_in_view(async move {
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
            {move || api.notice.get().map(|n| view! { <p class="error" role="alert" id="signin-notice">{n}</p> })}
            <form on:submit=submit novalidate>
                <label for="token">"Admin token"</label>
                <div class="inline">
                    <input id="token" type="password" autocomplete="current-password" required
                        node_ref=input bind:value=token/>
                    <button type="submit" class="primary" id="signin" disabled=move || busy.get()>
                        {move || if busy.get() { "Checking…" } else { "Sign in" }}
                    </button>
                </div>
            </form>
            {move || error.get().map(|e| view! { <p class="error" role="alert" id="signin-error">{e}</p> })}
            <Show when=move || api.expired.get()>
                <p class="muted">
                    "Or "
                    <button class="link" id="signin-leave" on:click=move |_| if guard.may_leave() { api.sign_out() }>
                        "sign out"
                    </button>
                    " and leave this page."
                </p>
            </Show>
        </section>
    }
}

/// Shows what `/api/health` says: the worker's version and whether the cron ticks.
#[component]
fn HealthPanel() -> impl IntoView {
    let api = expect_context::<Api>();
    let health = LocalResource::new(move || api.health());
    view! {
        <section class="health" aria-label="Service health">
            {move || match health.get() {
                None => EitherOf3::A(view! { <p class="muted">"Checking the service…"</p> }),
                Some(Err(e)) => EitherOf3::B(view! { <p class="error" role="alert">{e.message}</p> }),
                Some(Ok(h)) => {
                    let heartbeat = h.heartbeat.map_or_else(|| "never".to_string(), |b| b.scheduled_time);
                    let (class, tick) = match (h.tick.late, h.tick.seconds_since_last_tick) {
                        (false, _) => ("", "on time".to_string()),
                        (true, Some(s)) => ("late", format!("late: none for {} min", s / 60)),
                        (true, None) => ("late", "late: the cron has not run".to_string()),
                    };
                    EitherOf3::C(view! {
                        <dl id="health" class="facts-inline">
                            <dt>"Version"</dt><dd id="health-version">{h.version}</dd>
                            <dt>"Server time"</dt><dd id="health-time">{h.time}</dd>
                            <dt>"Last tick"</dt><dd id="health-heartbeat">{heartbeat}</dd>
                            <dt>"Tick"</dt><dd id="health-tick" class=class>{tick}</dd>
                        </dl>
                    })
                }
            }}
        </section>
    }
}
