//! The dashboard's long, read-only lists (Scheduled Tasks, Executed Tasks, Scheduler Log) as
//! HTML text, every value escaped.
//!
//! Why not one Leptos component per row: a dashboard holds up to a thousand scheduled rows and
//! a thousand runs. Built as text and set with one `innerHTML`, a thousand rows take the
//! browser a few milliseconds to parse, against hundreds of milliseconds for a thousand
//! reactive rows, and the app carries one small function per table instead of a keyed list's
//! rendering code for each. The rows' buttons are handled by one listener on the table
//! (see `dashboard::row_action`), which reads the row's `data-item`.

use crate::api::{LogItem, Run, ScheduledRow};
use crate::util::{duration, status_class, utc};

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

/// `<time>`: the UTC time as text; the local time is added as its title on hover
/// (`util::local_time_on_hover`), not here: formatting hundreds of local times would cost
/// more than the rest of the table.
pub fn time(out: &mut String, iso: &str) {
    out.push_str("<time datetime=\"");
    escape(out, iso);
    out.push_str("\">");
    escape(out, &utc(iso));
    out.push_str("</time>");
}

/// A time, or a muted word when there is none ("None" is ClearML's word for "not finished").
fn time_or(out: &mut String, iso: Option<&str>, none: &str) {
    match iso {
        Some(t) => time(out, t),
        None => {
            out.push_str("<span class=\"muted\">");
            out.push_str(none);
            out.push_str("</span>");
        }
    }
}

/// `<td class="…">escaped text</td>`.
fn cell(out: &mut String, class: &str, text: &str) {
    out.push_str("<td");
    if !class.is_empty() {
        out.push_str(" class=\"");
        out.push_str(class);
        out.push('"');
    }
    out.push('>');
    escape(out, text);
    out.push_str("</td>");
}

/// The Scheduled Tasks rows; `owner` adds the Run now and Pause/Resume buttons.
pub fn scheduled(rows: &[ScheduledRow], owner: bool) -> String {
    let mut out = String::with_capacity(rows.len() * 400);
    for r in rows {
        out.push_str(if r.enabled {
            "<tr data-item=\""
        } else {
            "<tr class=\"disabled\" data-item=\""
        });
        escape(&mut out, &r.item);
        out.push_str("\"><td class=\"mono\"");
        if let Some(p) = &r.project {
            out.push_str(" title=\"Destination project: ");
            escape(&mut out, p);
            out.push('"');
        }
        out.push('>');
        escape(&mut out, &r.base_task_id);
        out.push_str("</td>");
        cell(&mut out, "", &r.queue);
        cell(&mut out, "mono", &r.clearml);
        cell(&mut out, "", &r.description);
        out.push_str("<td>");
        if r.enabled {
            time_or(&mut out, r.next_run.as_deref(), "—");
        } else {
            out.push_str("<span class=\"badge paused\">Paused</span>");
        }
        out.push_str("</td>");
        if owner {
            out.push_str(
                "<td class=\"row-actions\"><button class=\"small run-now\">Run now</button>",
            );
            out.push_str(if r.enabled {
                "<button class=\"small task-toggle\" data-action=\"pause\">Pause</button></td>"
            } else {
                "<button class=\"small task-toggle\" data-action=\"resume\">Resume</button></td>"
            });
        }
        out.push_str("</tr>");
    }
    out
}

/// The Executed Tasks rows, newest first as the server sends them.
pub fn runs(runs: &[Run]) -> String {
    let mut out = String::with_capacity(runs.len() * 500);
    for r in runs {
        out.push_str("<tr><td>");
        time(&mut out, &r.started);
        out.push_str("</td><td class=\"finished\">");
        time_or(&mut out, r.finished.as_deref(), "None");
        out.push_str("</td><td><span class=\"status ");
        out.push_str(&status_class(&r.status));
        out.push_str("\">");
        escape(&mut out, &r.status);
        out.push_str("</span></td>");
        let took = r.duration_seconds.as_deref().map(duration);
        cell(&mut out, "num", took.as_deref().unwrap_or("—"));
        out.push_str("<td class=\"mono\">");
        // Only web links become anchors: a `javascript:` URL in an answer stays inert text.
        match r.link.as_deref().filter(|l| is_web_link(l)) {
            Some(href) => {
                out.push_str("<a href=\"");
                escape(&mut out, href);
                out.push_str("\" target=\"_blank\" rel=\"noopener noreferrer\">");
                escape(&mut out, &r.task_id);
                out.push_str("</a>");
            }
            None => {
                out.push_str("<span>");
                escape(&mut out, &r.task_id);
                out.push_str("</span>");
            }
        }
        out.push_str("</td></tr>");
    }
    out
}

fn is_web_link(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// The Scheduler Log, newest first, each line's level as a class for its colour.
pub fn log(items: &[LogItem]) -> String {
    let mut out = String::with_capacity(items.len() * 200);
    for l in items {
        let level = l.level.to_ascii_lowercase();
        out.push_str("<li class=\"lvl-");
        escape(&mut out, &level);
        out.push_str("\">");
        time(&mut out, &l.at);
        out.push_str("<span class=\"level\">");
        escape(&mut out, &level.to_ascii_uppercase());
        out.push_str("</span><span class=\"msg\">");
        escape(&mut out, &l.message);
        out.push_str("</span></li>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(item: &str, enabled: bool) -> ScheduledRow {
        ScheduledRow {
            item: item.into(),
            base_task_id: "aabb".into(),
            project: Some("Team <A>".into()),
            queue: "default".into(),
            clearml: "minute=20, hour=6".into(),
            description: "At 06:20 UTC, every day".into(),
            next_run: Some("2026-11-26T06:20:00Z".into()),
            enabled,
        }
    }

    #[test]
    fn escapes_text_and_attributes() {
        let mut out = String::new();
        escape(&mut out, r#"<b a="1">'&'</b>"#);
        assert_eq!(out, "&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;");
    }

    #[test]
    fn scheduled_rows_carry_their_item_and_owner_buttons() {
        let html = scheduled(&[row("a\"b", true), row("c", false)], true);
        assert_eq!(
            html,
            concat!(
                r#"<tr data-item="a&quot;b"><td class="mono" title="Destination project: Team &lt;A&gt;">aabb</td>"#,
                r#"<td>default</td><td class="mono">minute=20, hour=6</td><td>At 06:20 UTC, every day</td>"#,
                r#"<td><time datetime="2026-11-26T06:20:00Z">2026-11-26 06:20 UTC</time></td>"#,
                r#"<td class="row-actions"><button class="small run-now">Run now</button>"#,
                r#"<button class="small task-toggle" data-action="pause">Pause</button></td></tr>"#,
                r#"<tr class="disabled" data-item="c"><td class="mono" title="Destination project: Team &lt;A&gt;">aabb</td>"#,
                r#"<td>default</td><td class="mono">minute=20, hour=6</td><td>At 06:20 UTC, every day</td>"#,
                r#"<td><span class="badge paused">Paused</span></td>"#,
                r#"<td class="row-actions"><button class="small run-now">Run now</button>"#,
                r#"<button class="small task-toggle" data-action="resume">Resume</button></td></tr>"#,
            )
        );
        let shared = scheduled(&[row("a", true)], false);
        assert!(!shared.contains("button"), "{shared}");
    }

    #[test]
    fn runs_show_none_for_unfinished_and_link_only_web_urls() {
        let run = |link: &str, finished: Option<&str>| Run {
            task_id: "t1".into(),
            item: "a".into(),
            started: "2026-11-25T10:00:00Z".into(),
            finished: finished.map(str::to_string),
            status: "in_progress".into(),
            duration_seconds: finished.map(|_| "3725".into()),
            link: Some(link.into()),
        };
        let html = runs(&[
            run("https://app.clear.ml/t1", Some("2026-11-25T11:02:05Z")),
            run("javascript:alert(1)", None),
        ]);
        assert!(html.contains(r#"<a href="https://app.clear.ml/t1" target="_blank" rel="noopener noreferrer">t1</a>"#), "{html}");
        assert!(
            html.contains(r#"<td class="num">1h 02m 05s</td>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<td class="finished"><span class="muted">None</span></td>"#),
            "{html}"
        );
        assert!(html.contains(r#"<td class="num">—</td>"#), "{html}");
        assert!(
            html.contains("<span>t1</span>") && !html.contains("javascript"),
            "{html}"
        );
        assert_eq!(html.matches("<tr>").count(), 2);
        assert!(html.contains(r#"<span class="status st-in-progress">in_progress</span>"#));
    }

    #[test]
    fn log_lines_are_coloured_by_level_and_escaped() {
        let html = log(&[LogItem {
            at: "2026-11-25T10:00:00Z".into(),
            level: "Warning".into(),
            message: "queue <gpu> missing".into(),
        }]);
        assert_eq!(
            html,
            concat!(
                r#"<li class="lvl-warning"><time datetime="2026-11-25T10:00:00Z">"#,
                r#"2026-11-25 10:00 UTC</time><span class="level">WARNING</span>"#,
                r#"<span class="msg">queue &lt;gpu&gt; missing</span></li>"#
            )
        );
    }
}
