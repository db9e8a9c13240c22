//! Hash routes: `#/`, `#/new`, `#/instances/ID`, `#/instances/ID/edit`, `#/share/TOKEN`.
//! A share link may also arrive as the path `/share/TOKEN` when the server serves the app there.

use leptos::prelude::*;
use wasm_bindgen::JsValue;

#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    List,
    New,
    Dashboard(String),
    Edit(String),
    Share(String),
    /// `#/bench/N`: renders a synthetic dashboard of N rows and N runs and times it.
    Bench(usize),
    /// `#/bench/preview/AFTER`: one form row whose live preview the benchmark times, its next
    /// runs counted from AFTER (RFC 3339; now when absent).
    PreviewBench(Option<String>),
}

pub fn parse(hash: &str, path: &str) -> Route {
    if let Some(token) = path.strip_prefix("/share/").filter(|t| !t.is_empty()) {
        return Route::Share(token.to_string());
    }
    let h = hash.trim_start_matches('#').trim_start_matches('/');
    let parts: Vec<&str> = h.split('/').filter(|p| !p.is_empty()).collect();
    let decode = |s: &str| {
        js_sys::decode_uri_component(s)
            .map(String::from)
            .unwrap_or_else(|_| s.to_string())
    };
    match parts.as_slice() {
        ["new"] => Route::New,
        ["instances", id] => Route::Dashboard(decode(id)),
        ["instances", id, "edit"] => Route::Edit(decode(id)),
        ["share", token] => Route::Share(decode(token)),
        ["bench", "preview"] => Route::PreviewBench(None),
        ["bench", "preview", after] => Route::PreviewBench(Some(decode(after))),
        ["bench", n] => Route::Bench(n.parse().unwrap_or(1000)),
        _ => Route::List,
    }
}

fn current() -> Route {
    let loc = window().location();
    parse(
        &loc.hash().unwrap_or_default(),
        &loc.pathname().unwrap_or_default(),
    )
}

/// The current route, updated on every `hashchange` the page's [`LeaveGuard`] lets through.
///
/// A change the guard refuses is undone by moving through history, not by rewriting it: each
/// entry the app has shown carries its position (its `history.state`, a number), so a refused
/// Back or Forward goes the same number of steps the other way, and a refused new entry (a
/// link, or `location.hash` set) is left with `history.back()`. The page the user came from
/// stays in history. The `hashchange` that return causes is expected, and passed over.
pub fn use_route(guard: LeaveGuard) -> ReadSignal<Route> {
    let (route, set_route) = signal(current());
    let here = StoredValue::new(position_here());
    // The URL a refused change is being undone to: its `hashchange` is not a navigation.
    let returning = StoredValue::new(None::<String>);
    let handle = window_event_listener(leptos::ev::hashchange, move |ev| {
        if returning.get_value().is_some() {
            let expected = returning.try_update_value(Option::take).flatten();
            if expected.as_deref() == Some(ev.new_url().as_str()) {
                return;
            }
        }
        let Some(history) = window().history().ok() else {
            return;
        };
        let arrived = history.state().ok().and_then(|s| s.as_f64());
        if !guard.may_leave() {
            let _ = match arrived.map(|there| (here.get_value() - there) as i32) {
                None => {
                    returning.set_value(Some(ev.old_url()));
                    history.back()
                }
                Some(steps) if steps != 0 => {
                    returning.set_value(Some(ev.old_url()));
                    history.go_with_delta(steps)
                }
                // Positions that do not tell the way back (`go(0)` would reload the page):
                // the old URL is put back in place, with no `hashchange`.
                Some(_) => history.replace_state_with_url(
                    &JsValue::from_f64(here.get_value()),
                    "",
                    Some(&ev.old_url()),
                ),
            };
            return;
        }
        let position = arrived.unwrap_or(here.get_value() + 1.0);
        if arrived.is_none() {
            let _ = history.replace_state(&JsValue::from_f64(position), "");
        }
        here.set_value(position);
        set_route.set(current());
        window().scroll_to_with_x_and_y(0.0, 0.0);
    });
    on_cleanup(move || handle.remove());
    route
}

/// This history entry's position, as [`use_route`] numbers them: the one it carries (a reload
/// keeps it), else 0, written into the entry.
fn position_here() -> f64 {
    let Ok(history) = window().history() else {
        return 0.0;
    };
    match history.state().ok().and_then(|s| s.as_f64()) {
        Some(position) => position,
        None => {
            let _ = history.replace_state(&JsValue::from_f64(0.0), "");
            0.0
        }
    }
}

/// What the page on screen would lose if the user left it: the form registers whether it has
/// unsaved edits, and leaving it then (a link, Back, Sign out, closing the tab) asks first.
#[derive(Clone, Copy)]
pub struct LeaveGuard(StoredValue<Option<Callback<(), bool>>>);

impl LeaveGuard {
    pub fn new() -> LeaveGuard {
        LeaveGuard(StoredValue::new(None))
    }

    /// While the calling view is on the page, `unsaved` says whether leaving would lose edits.
    pub fn hold(self, unsaved: impl Fn() -> bool + Send + Sync + 'static) {
        self.0.set_value(Some(Callback::new(move |()| unsaved())));
        let unload = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if self.unsaved() {
                // The browser asks, in its own words.
                ev.prevent_default();
            }
        });
        on_cleanup(move || {
            self.0.set_value(None);
            unload.remove();
        });
    }

    fn unsaved(self) -> bool {
        self.0
            .with_value(|g| g.and_then(|g| g.try_run(())))
            .unwrap_or(false)
    }

    /// Whether the user may leave the page: nothing would be lost, or they said so.
    pub fn may_leave(self) -> bool {
        !self.unsaved()
            || window()
                .confirm_with_message(
                    "This form has changes that are not saved. Leave it and lose them?",
                )
                .unwrap_or(true)
    }
}

/// Goes to a hash route, e.g. `go("#/instances/abc")`.
pub fn go(hash: &str) {
    let _ = window().location().set_hash(hash);
}

pub fn dashboard_href(id: &str) -> String {
    format!("#/instances/{}", crate::api::seg(id))
}
