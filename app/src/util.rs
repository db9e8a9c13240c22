//! Small browser helpers: times, durations, downloads, files, the clipboard; the `<time>` and
//! status views every screen shows.

use leptos::either::Either;
use leptos::prelude::*;
use scheduler_core::Instant;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// Starts a task (a request and what follows its answer) for the view it is started from: a
/// component, or an event handler of one. When that view leaves the page, the task is dropped
/// at its next await: a request still out completes at the server, but nothing of the gone view
/// runs after the answer, since its signals and callbacks are disposed (reading one would panic,
/// and a panic stops the app). Signals the task creates belong to the view too.
pub fn spawn_in_view(task: impl std::future::Future<Output = ()> + 'static) {
    leptos::task::spawn_local_scoped_with_cancellation(task)
}

/// Where a component's tasks run: its own owner, taken when the component is built. An event
/// handler runs under the owner of the part of the view its element is in (a confirm branch, a
/// list item), which may be rebuilt while a request is out; a task started there would be
/// dropped with it, and what it was to do after the answer (refresh the list, load the form)
/// would never happen. With the component gone, nothing is started.
#[derive(Clone, Copy)]
pub struct ViewTasks {
    owner: StoredValue<Option<Owner>>,
    /// A task started with [`ViewTasks::spawn_alone`] is still out.
    busy: StoredValue<bool>,
}

impl ViewTasks {
    pub fn here() -> ViewTasks {
        ViewTasks {
            owner: StoredValue::new(Owner::current()),
            busy: StoredValue::new(false),
        }
    }

    pub fn spawn(self, task: impl std::future::Future<Output = ()> + 'static) {
        if let Some(owner) = self.owner.try_get_value().flatten() {
            owner.with(|| spawn_in_view(task));
        }
    }

    /// [`ViewTasks::spawn`], unless the last task started this way is still out: a second
    /// click while a request is out sends nothing (the buttons stay enabled, so the one pressed
    /// keeps the focus).
    pub fn spawn_alone(self, task: impl std::future::Future<Output = ()> + 'static) {
        if self.busy.try_get_value() != Some(false) {
            return;
        }
        self.busy.set_value(true);
        let busy = self.busy;
        self.spawn(async move {
            task.await;
            busy.try_update_value(|b| *b = false);
        });
    }
}

/// `2026-11-26T06:20:00Z` as `2026-11-26 06:20 UTC` (seconds shown when not zero).
pub fn utc(iso: &str) -> String {
    let s = iso.trim_end_matches('Z');
    let s = s.split('.').next().unwrap_or(s).replace('T', " ");
    let s = s
        .strip_suffix(":00")
        .filter(|t| t.len() == 16)
        .map(str::to_string)
        .unwrap_or(s);
    format!("{s} UTC")
}

// The leaf views below are plain functions, not components: they hold no state, and a
// component is a type-erased view of its own in this build (`erase_components`), which the
// hundreds of times and statuses of a dashboard would each pay for in wasm size.

/// A time: `<time datetime>` with the UTC time as text; the local time is added as its title
/// when the pointer first reaches it ([`local_time_on_hover`]).
pub fn time(iso: String) -> impl IntoView {
    let text = utc(&iso);
    view! { <time datetime=iso>{text}</time> }
}

/// A time, or a muted word when there is none ("None" is ClearML's word for "not finished").
pub fn time_or(iso: Option<String>, none: &'static str) -> impl IntoView {
    match iso {
        Some(iso) => Either::Left(time(iso)),
        None => Either::Right(view! { <span class="muted">{none}</span> }),
    }
}

/// A run status in its colour: `<span class="status st-completed">completed</span>`.
pub fn status(status: String) -> impl IntoView {
    let class = format!("status {}", status_class(&status));
    view! { <span class=class>{status}</span> }
}

/// The same instant in the browser's own time zone, for the `title` (hover) of a time.
fn local(iso: &str) -> String {
    let d = js_sys::Date::new(&JsValue::from_str(iso));
    if d.get_time().is_nan() {
        return String::new();
    }
    format!("Local time: {}", String::from(d.to_string()))
}

/// Gives each `<time datetime>` of the page its local time as a title when the pointer first
/// reaches it. One listener for the whole page, and no local-time formatting while rendering:
/// the browser's first use of its time zone data is slow, and a dashboard holds hundreds of
/// times that nobody hovers.
pub fn local_time_on_hover() {
    let handler = Closure::<dyn FnMut(web_sys::MouseEvent)>::new(|ev: web_sys::MouseEvent| {
        let time = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("time[datetime]").ok().flatten());
        if let Some(t) = time.filter(|t| !t.has_attribute("title")) {
            let iso = t.get_attribute("datetime").unwrap_or_default();
            let _ = t.set_attribute("title", &local(&iso));
        }
    });
    let _ =
        document().add_event_listener_with_callback("mouseover", handler.as_ref().unchecked_ref());
    // Lives as long as the page.
    handler.forget();
}

/// `3725` seconds as `1h 02m 05s`; negative as `0s`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// A CSS class for a run status: `in_progress` → `st-in-progress`.
pub fn status_class(status: &str) -> String {
    let s: String = status
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("st-{s}")
}

/// Moves the keyboard focus to the element with this id, once the current redraw is on the
/// page (for when the focused element itself went away: a removed row, a revoked link).
pub fn focus_id(id: impl Into<String>) {
    let id = id.into();
    request_animation_frame(move || {
        if let Some(el) = document().get_element_by_id(&id) {
            let _ = el.unchecked_into::<web_sys::HtmlElement>().focus();
        }
    });
}

/// After the next frame, if the focus was lost (a button that had it went away with what it
/// did), gives it to the element `target` (a table or list whose rows it showed): a place that
/// stays when its rows are redrawn, made focusable for the purpose.
pub fn focus_if_lost(target: &'static str) {
    request_animation_frame(move || {
        let doc = document();
        let lost = doc
            .active_element()
            .is_none_or(|el| el.tag_name().eq_ignore_ascii_case("body"));
        if !lost {
            return;
        }
        if let Ok(Some(el)) = doc.query_selector(target) {
            let el = el.unchecked_into::<web_sys::HtmlElement>();
            let _ = el.set_attribute("tabindex", "-1");
            let _ = el.focus();
        }
    });
}

/// A link of markup put back with `innerHTML` would lose the focus with the old markup: the
/// link with the same `href` in the new one gets it back, once it is in place (the next
/// microtask, after the DOM was written).
pub fn keep_focused_link() {
    let Some(link) = document()
        .active_element()
        .filter(|el| el.tag_name().eq_ignore_ascii_case("a"))
    else {
        return;
    };
    let Some(href) = link.get_attribute("href") else {
        return;
    };
    queue_microtask(move || {
        if link.is_connected() {
            return; // not replaced
        }
        let Ok(links) = document().query_selector_all("a[href]") else {
            return;
        };
        for i in 0..links.length() {
            let Some(el) = links.item(i) else { continue };
            let el = el.unchecked_into::<web_sys::HtmlElement>();
            if el.get_attribute("href").as_deref() == Some(href.as_str()) {
                let _ = el.focus();
                return;
            }
        }
    });
}

/// Offers `text` as a file download called `name`.
pub fn download(name: &str, text: &str, mime: &str) {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(a) = document()
        .create_element("a")
        .ok()
        .and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        a.set_href(&url);
        a.set_download(name);
        let _ = document().body().map(|b| b.append_child(&a));
        a.click();
        a.remove();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// The name and text of the first file chosen in a file input (its `change` event's target).
pub async fn read_chosen_file(input: web_sys::HtmlInputElement) -> Option<(String, String)> {
    let file = input.files()?.get(0)?;
    let text = wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .ok()?
        .as_string()?;
    input.set_value("");
    Some((file.name(), text))
}

/// Copies `text` to the clipboard (navigator.clipboard.writeText): `true` once the browser
/// says it did, `false` when the page has no clipboard access (it needs https or localhost) or
/// the browser refused.
pub async fn copy(text: &str) -> bool {
    let clip = js_sys::Reflect::get(&window().navigator(), &"clipboard".into()).ok();
    let write = clip
        .as_ref()
        .and_then(|c| js_sys::Reflect::get(c, &"writeText".into()).ok())
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let promise = match (clip, write) {
        (Some(c), Some(f)) => f.call1(&c, &JsValue::from_str(text)).ok(),
        _ => None,
    };
    match promise.and_then(|p| p.dyn_into::<js_sys::Promise>().ok()) {
        Some(p) => wasm_bindgen_futures::JsFuture::from(p).await.is_ok(),
        None => false,
    }
}

/// Milliseconds since the page started loading (performance.now()).
pub fn now_ms() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or_default()
}

/// Now, from the browser's clock.
pub fn now() -> Instant {
    Instant::from_unix_millis(js_sys::Date::now() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_hours_minutes_and_seconds() {
        for (seconds, shown) in [
            (3725, "1h 02m 05s"),
            (59, "59s"),
            (61, "1m 01s"),
            (-3, "0s"),
        ] {
            assert_eq!(duration(seconds), shown, "{seconds}");
        }
    }

    #[test]
    fn utc_times_drop_zero_seconds() {
        assert_eq!(utc("2026-11-26T06:20:00.000Z"), "2026-11-26 06:20 UTC");
        assert_eq!(utc("2026-11-26T06:20:07Z"), "2026-11-26 06:20:07 UTC");
    }

    #[test]
    fn status_classes_are_css_safe() {
        assert_eq!(status_class("in_progress"), "st-in-progress");
        assert_eq!(status_class("Failed <x>"), "st-failed--x-");
    }
}
