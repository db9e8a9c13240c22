//! Small browser helpers: times, durations, downloads, files, the clipboard.

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// `2026-11-26T06:20:00.000Z` as `2026-11-26 06:20:00 UTC` (seconds dropped when zero).
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

/// `3725` (a JSON number's text, in seconds) as `1h 02m 05s`; negative as `0s`.
pub fn duration(seconds: &str) -> String {
    let s = round_seconds(seconds).unwrap_or(0);
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// A JSON number's text rounded to whole seconds (halves up), `None` when negative or not a
/// number. Decimal arithmetic on the digits: the app links no float parsing code.
fn round_seconds(text: &str) -> Option<u64> {
    if text.starts_with('-') {
        return None;
    }
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // The decimal point sits after `point` digits.
    let point = int.len() as i32 + exp;
    let mut whole: u64 = 0;
    for i in 0..point.max(0) {
        let d = digits.get(i as usize).map_or(0, |d| u64::from(d - b'0'));
        whole = whole.checked_mul(10)?.checked_add(d)?;
    }
    // The first digit after the point decides the rounding (none: below 0.1, or whole).
    let half_up = usize::try_from(point)
        .ok()
        .and_then(|p| digits.get(p))
        .is_some_and(|d| *d >= b'5');
    whole.checked_add(u64::from(half_up))
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

/// The element matching `css` (a button, usually) that a click happened in, for the one
/// delegated listener of a screen whose HTML is text.
pub fn click_target(ev: &web_sys::MouseEvent, css: &str) -> Option<web_sys::Element> {
    let target: web_sys::Element = ev.target()?.dyn_into().ok()?;
    target.closest(css).ok().flatten()
}

/// Moves the keyboard focus to `el`, if there is one.
pub fn focus(el: Option<web_sys::Element>) {
    if let Some(el) = el {
        let _ = el.unchecked_into::<web_sys::HtmlElement>().focus();
    }
}

/// Whether nothing has the keyboard focus, as after a redraw removed the focused button.
pub fn focus_lost() -> bool {
    document()
        .active_element()
        .is_none_or(|a| a.tag_name() == "BODY")
}

/// The first element matching `css` whose attribute `attr` is `value`. Values are data (ids,
/// item names), so they are compared, never spliced into a selector.
pub fn find_by_attr(css: &str, attr: &str, value: &str) -> Option<web_sys::Element> {
    let all = document().query_selector_all(css).ok()?;
    (0..all.length())
        .filter_map(|i| all.item(i)?.dyn_into::<web_sys::Element>().ok())
        .find(|e| e.get_attribute(attr).as_deref() == Some(value))
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

/// A file name from an instance name: `Nightly retraining` → `nightly-retraining.json`.
pub fn file_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    format!("{}.json", if out.is_empty() { "scheduler" } else { out })
}

/// The text of the first file chosen in a file input (the `change` event's target).
pub async fn read_chosen_file(ev: &web_sys::Event) -> Option<(String, String)> {
    let input: web_sys::HtmlInputElement = ev.target()?.dyn_into().ok()?;
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

// Type erasure, the app's main tool against wasm size: tachys compiles each distinct closure
// type used as a view, attribute or event handler into its own copy of the rendering code.
// Boxing closures (`dynv`, `on`) and deriving signals (`sig`) makes every use share one copy.

/// An event handler with its type erased: `on:click=on(move |_| …)`.
pub type On<E> = Box<dyn FnMut(E)>;

pub fn on<E>(f: impl FnMut(E) + 'static) -> On<E> {
    Box::new(f)
}

/// A reactive attribute or text with its type erased: `disabled=sig(move || busy.get())`.
pub fn sig<T: Send + Sync + 'static>(f: impl Fn() -> T + Send + Sync + 'static) -> Signal<T> {
    Signal::derive(f)
}

/// `view` while `when` holds, else `fallback`: what `<Show>` does, with one shared copy of
/// its code. The condition is memoized, so the view is rebuilt only when it flips.
pub fn show(
    when: impl Fn() -> bool + Send + Sync + 'static,
    view: impl Fn() -> AnyView + Send + 'static,
    fallback: impl Fn() -> AnyView + Send + 'static,
) -> DynView {
    // Reference-counted, not owned by the arena: a redraw that is already on its way when the
    // owner is cleaned up still reads a live value (Leptos's own <Show> does the same).
    let when = ArcMemo::new(move |_| when());
    dynv(move || if when.get() { view() } else { fallback() })
}

/// A reactive view child with its type erased: every `dynv(move || …)` in the app shares one
/// `Render` implementation instead of one per closure, which keeps the wasm small.
pub type DynView = Box<dyn FnMut() -> AnyView + Send>;

pub fn dynv<V: IntoAny>(mut f: impl FnMut() -> V + Send + 'static) -> DynView {
    Box::new(move || f().into_any())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_to_whole_seconds_from_the_numbers_text() {
        for (text, shown) in [
            ("3725", "1h 02m 05s"),
            ("3724.5", "1h 02m 05s"),
            ("59.49", "59s"),
            ("0.5", "1s"),
            ("0.4", "0s"),
            ("61", "1m 01s"),
            ("1.2e2", "2m 00s"),
            ("5e-1", "1s"),
            ("4e-2", "0s"),
            ("-3", "0s"),
            ("x", "0s"),
        ] {
            assert_eq!(duration(text), shown, "{text}");
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
