//! A minimal Leptos + serde_json client-side app: one component, one signal, one request whose
//! JSON answer is read into a serde type. The size benchmark builds it with the app's profile
//! and flags, so the app's figure next to this one is what the app's features cost.

use leptos::prelude::*;
use serde::Deserialize;
use wasm_bindgen::prelude::wasm_bindgen;

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Health {
    version: String,
    time: String,
}

#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let health = LocalResource::new(|| async {
        let text = gloo_net::http::Request::get("/api/health")
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        serde_json::from_str::<Health>(&text).ok()
    });
    view! {
        <p>{move || match health.get().flatten() {
            Some(h) => format!("{} at {}", h.version, h.time),
            None => "Loading…".to_string(),
        }}</p>
    }
}
