//! Escaped HTML text: the pieces every screen's HTML builder uses.
//!
//! Why screens build HTML text at all: a Leptos view compiles into code of its own for every
//! distinct element tree, attribute set and binding, and that code was most of the app's wasm.
//! Content that is read, not typed into (tables, lists, messages, the form's rows), is built
//! here as text by plain functions, set with one `innerHTML`, and its buttons are served by one
//! delegated listener per screen. Every value goes through [`escape`]; the builders are pure and
//! tested natively.

use crate::util::{status_class, utc};

/// Appends `s` with `& < > " '` escaped: safe in text and in double-quoted attributes.
pub fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `<tag class="…">escaped text</tag>`; no class attribute when `class` is empty.
pub fn el(out: &mut String, tag: &str, class: &str, text: &str) {
    out.push('<');
    out.push_str(tag);
    if !class.is_empty() {
        out.push_str(" class=\"");
        out.push_str(class);
        out.push('"');
    }
    out.push('>');
    escape(out, text);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// `<time>`: the UTC time as text; the local time is added as its title on hover
/// (`util::local_time_on_hover`), not here: formatting hundreds of local times would cost
/// more than the rest of a table.
pub fn time(out: &mut String, iso: &str) {
    out.push_str("<time datetime=\"");
    escape(out, iso);
    out.push_str("\">");
    escape(out, &utc(iso));
    out.push_str("</time>");
}

/// A time, or a muted word when there is none ("None" is ClearML's word for "not finished").
pub fn time_or(out: &mut String, iso: Option<&str>, none: &str) {
    match iso {
        Some(t) => time(out, t),
        None => el(out, "span", "muted", none),
    }
}

/// A run status in its colour: `<span class="status st-completed">completed</span>`.
pub fn status(out: &mut String, status: &str) {
    el(
        out,
        "span",
        &format!("status {}", status_class(status)),
        status,
    );
}

/// A paragraph of muted text (loading and empty states).
pub fn muted(class: &str, text: &str) -> String {
    let mut out = String::new();
    let class = if class.is_empty() {
        "muted".to_string()
    } else {
        format!("muted {class}")
    };
    el(&mut out, "p", &class, text);
    out
}

/// An error that screen readers announce: `<p class="error" role="alert">…</p>`.
pub fn alert(message: &str) -> String {
    let mut out = String::from("<p class=\"error\" role=\"alert\">");
    escape(&mut out, message);
    out.push_str("</p>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        let mut out = String::new();
        escape(&mut out, r#"<b a="1">'&'</b>"#);
        assert_eq!(out, "&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;");
    }

    #[test]
    fn elements_times_and_statuses() {
        let mut out = String::new();
        el(&mut out, "td", "", "a<b");
        time_or(&mut out, Some("2026-11-26T06:20:00Z"), "None");
        time_or(&mut out, None, "None");
        status(&mut out, "in_progress");
        assert_eq!(
            out,
            concat!(
                "<td>a&lt;b</td><time datetime=\"2026-11-26T06:20:00Z\">2026-11-26 06:20 UTC</time>",
                "<span class=\"muted\">None</span><span class=\"status st-in-progress\">in_progress</span>"
            )
        );
        assert_eq!(
            muted("empty", "Nothing."),
            "<p class=\"muted empty\">Nothing.</p>"
        );
    }
}
