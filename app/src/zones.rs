//! Time zone data, fetched from the worker the first time a zone is used.
//!
//! The app links the core without the bundled IANA database (it would be most of the app's
//! download); the worker serves any zone as a TZif file from its own bundled copy
//! (`GET /api/zones/{name}`), and the core parses it with the same code the worker uses. So
//! the live preview's instants are the worker's, DST gaps and folds included.

use leptos::prelude::*;
use leptos::task::spawn_local;
use scheduler_core::zone;
use std::collections::HashSet;

/// How long after a failed download a zone is asked for again.
const RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// The page's zones: which were asked for, and a counter that moves when one arrives (what
/// reads it recomputes then).
#[derive(Clone, Copy)]
pub struct Zones {
    arrived: RwSignal<u32>,
    asked: StoredValue<HashSet<String>>,
}

impl Zones {
    pub fn new() -> Zones {
        Zones {
            arrived: RwSignal::new(0),
            asked: StoredValue::new(HashSet::new()),
        }
    }

    /// Whether the core can answer for `name` now; if not, its data is on the way (asked for
    /// once) and this is called again when it lands.
    pub fn ready(self, name: &str) -> bool {
        self.arrived.track();
        if name.is_empty() || zone::is_known(name) {
            return true;
        }
        let first = self
            .asked
            .try_update_value(|a| a.insert(name.to_string()))
            .unwrap_or(false);
        if first {
            let name = name.to_string();
            // Not `spawn_in_view`: a zone is asked for once, by whichever row needed it first,
            // and its data must land even if that row is gone (these signals are the app's).
            spawn_local(async move {
                match fetch(&name).await {
                    Ok(data) => {
                        zone::register(&name, data.as_deref().map_err(Clone::clone));
                        self.arrived.update(|n| *n += 1);
                    }
                    // The worker was not reached: asked again in a few seconds (what waits
                    // for the zone asks anew when `arrived` moves), not at once, which would
                    // loop while offline.
                    Err(()) => {
                        self.asked.update_value(|a| {
                            a.remove(&name);
                        });
                        set_timeout(move || self.arrived.update(|n| *n += 1), RETRY);
                    }
                }
            });
        }
        false
    }
}

/// The zone's TZif data, or the worker's message for a name that is not a zone (`Ok(Err)`);
/// `Err(())` when the worker could not be reached.
async fn fetch(name: &str) -> Result<Result<Vec<u8>, String>, ()> {
    // Each part encoded; the slashes stay (`America/Argentina/Buenos_Aires`).
    let path: Vec<String> = name.split('/').map(crate::api::seg).collect();
    let url = format!("/api/zones/{}", path.join("/"));
    let resp = gloo_net::http::Request::get(&url)
        .send()
        .await
        .map_err(|_| ())?;
    if resp.ok() {
        return resp.binary().await.map(Ok).map_err(|_| ());
    }
    if resp.status() != 404 {
        return Err(());
    }
    let text = resp.text().await.map_err(|_| ())?;
    let message = serde_json::from_str::<scheduler_core::api::ErrorBody>(&text)
        .map(|b| b.error.message)
        .unwrap_or_else(|_| format!("\"{name}\" is not a known IANA time zone"));
    Ok(Err(message))
}
