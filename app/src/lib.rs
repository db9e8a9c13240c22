//! The web app: a Leptos client-side app that talks to the worker's `/api`.

mod api;

use leptos::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;

/// Entry point, called by public/index.html once the wasm is loaded.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    view! {
        <header class="topbar">
            <h1>"ClearML Task Scheduler"</h1>
        </header>
        <main>
            <HealthPanel/>
        </main>
    }
}

/// Shows what `/api/health` says: the worker's version and whether the cron ticks.
#[component]
fn HealthPanel() -> impl IntoView {
    let health = LocalResource::new(api::health);
    view! {
        <section class="card" aria-labelledby="health-title">
            <h2 id="health-title">"Service health"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || health.get().map(|result| match result {
                    Ok(h) => view! {
                        <dl id="health" class="facts">
                            <dt>"Version"</dt><dd id="health-version">{h.version}</dd>
                            <dt>"Server time"</dt><dd id="health-time">{h.time}</dd>
                            <dt>"Last tick"</dt>
                            <dd id="health-heartbeat">{h.heartbeat.map(|b| b.scheduled_time).unwrap_or_else(|| "never".into())}</dd>
                        </dl>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
