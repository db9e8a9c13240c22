//! The dashboard as HTML text: its title and owner actions, the Scheduled Tasks and Executed
//! Tasks tables (with their empty states and "Show all") and the Scheduler Log, every value
//! escaped (see [`crate::html`] for why text).
//!
//! A dashboard holds up to a thousand scheduled rows and a thousand runs. Built as text and set
//! with one `innerHTML`, a thousand rows take the browser a few milliseconds to parse, against
//! hundreds of milliseconds for a thousand reactive rows. The buttons are handled by one
//! listener on the dashboard (see `dashboard::clicked`), which reads a row's `data-item`.

use crate::api::{DashInstance, LogItem, Page, Run, ScheduledRow, MAX_PAGE};
use crate::html::{el, escape, muted, status, time, time_or};
use crate::util::duration;

/// Rows a long table shows before "Show all".
pub const FIRST_ROWS: usize = 100;

/// The title (name, Paused, Read-only) and, for the owner, Edit, Pause/Resume and Export.
pub fn head(instance: &DashInstance, owner: bool) -> String {
    let mut out = String::from("<h1 id=\"dash-title\">");
    escape(&mut out, &instance.name);
    if instance.paused {
        el(&mut out, "span", "badge paused", "Paused");
    }
    if !owner {
        el(&mut out, "span", "badge", "Read-only");
        out.push_str("</h1>");
        return out;
    }
    out.push_str(
        "</h1><div class=\"actions\"><a class=\"button\" id=\"edit-instance\" href=\"#/instances/",
    );
    escape(&mut out, &crate::api::seg(&instance.id));
    out.push_str("/edit\">Edit</a><button id=\"toggle-instance\">");
    out.push_str(if instance.paused {
        "Resume instance"
    } else {
        "Pause instance"
    });
    out.push_str("</button><button id=\"export-instance\">Export configuration</button></div>");
    out
}

/// The table's start: its scroller, `<table id>`, the header row (`(label, class)` cells, and
/// an actions cell named for screen readers when the rows have buttons) and `<tbody>`.
fn table_start(out: &mut String, id: &str, headers: &[(&str, &str)], actions: bool) {
    out.push_str("<div class=\"table-wrap\"><table class=\"table\" id=\"");
    out.push_str(id);
    out.push_str("\"><thead><tr>");
    for (label, class) in headers {
        out.push_str("<th scope=\"col\"");
        if !class.is_empty() {
            out.push_str(" class=\"");
            out.push_str(class);
            out.push('"');
        }
        out.push('>');
        out.push_str(label);
        out.push_str("</th>");
    }
    if actions {
        out.push_str("<th scope=\"col\"><span class=\"sr-only\">Actions</span></th>");
    }
    out.push_str("</tr></thead><tbody>");
}

/// "Showing 100 of 1000. Show all 1000" under a table that shows only its first rows.
fn show_all(out: &mut String, id: &str, shown: usize, total: usize) {
    if total > shown {
        out.push_str(&format!(
            "<p class=\"muted show-all\">Showing {shown} of {total}. <button type=\"button\" class=\"link\" id=\"{id}\">Show all {total}</button></p>"
        ));
    }
}

/// A long table (`id`): its first `shown` rows, drawn by `draw`, then "Show all" (`{id}-all`)
/// when there are more.
fn long_table<T>(
    id: &str,
    headers: &[(&str, &str)],
    actions: bool,
    rows: &[T],
    shown: usize,
    draw: impl Fn(&mut String, &[T]),
) -> String {
    let shown = shown.min(rows.len());
    let mut out = String::with_capacity(shown * 500 + 500);
    table_start(&mut out, id, headers, actions);
    draw(&mut out, &rows[..shown]);
    out.push_str("</tbody></table></div>");
    show_all(&mut out, &format!("{id}-all"), shown, rows.len());
    out
}

/// The Scheduled Tasks section: the first `shown` rows, or its empty state.
pub fn scheduled_section(rows: &[ScheduledRow], shown: usize, owner: bool) -> String {
    if rows.is_empty() {
        return muted("empty", "No scheduled tasks.");
    }
    let headers = [
        ("Task ID", ""),
        ("Queue", ""),
        ("Schedule", ""),
        ("Description", ""),
        ("Next run", ""),
    ];
    long_table("scheduled", &headers, owner, rows, shown, |out, rows| {
        scheduled(out, rows, owner)
    })
}

/// The Executed Tasks section: the first `shown` runs, or its empty state.
pub fn runs_section(page: &Page<Run>, shown: usize) -> String {
    let items = &page.items;
    if items.is_empty() {
        return muted("empty", "Nothing has run yet.");
    }
    let headers = [
        ("Started", ""),
        ("Finished", ""),
        ("Status", ""),
        ("Duration", "num"),
        ("Task ID", ""),
    ];
    let mut out = long_table("runs", &headers, false, items, shown, runs);
    older(&mut out, "runs-more", "runs", items.len(), page.total);
    out
}

/// "The 50 most recent of 120 runs. Show older runs" when the answer holds only the newest
/// (the button, `id`, while the server would give more).
fn older(out: &mut String, id: &str, what: &str, have: usize, total: usize) {
    if total > have {
        out.push_str(&format!(
            "<p class=\"muted\">The {have} most recent of {total} {what}."
        ));
        if have < MAX_PAGE {
            out.push_str(&format!(
                " <button type=\"button\" class=\"link\" id=\"{id}\">Show older {what}</button>"
            ));
        }
        out.push_str("</p>");
    }
}

/// The Scheduler Log section, or its empty state.
pub fn log_section(page: &Page<LogItem>) -> String {
    if page.items.is_empty() {
        return muted("empty", "The log is empty.");
    }
    let mut out = String::from("<ol class=\"log\" id=\"log\">");
    log(&mut out, &page.items);
    out.push_str("</ol>");
    older(
        &mut out,
        "log-more",
        "log lines",
        page.items.len(),
        page.total,
    );
    out
}

/// The Scheduled Tasks rows; `owner` adds the Run now and Pause/Resume buttons.
fn scheduled(out: &mut String, rows: &[ScheduledRow], owner: bool) {
    for r in rows {
        out.push_str(if r.enabled {
            "<tr data-item=\""
        } else {
            "<tr class=\"disabled\" data-item=\""
        });
        escape(out, &r.item);
        out.push_str("\"><td class=\"mono\"");
        if let Some(p) = &r.project {
            out.push_str(" title=\"Destination project: ");
            escape(out, p);
            out.push('"');
        }
        out.push('>');
        escape(out, &r.base_task_id);
        out.push_str("</td>");
        el(out, "td", "", &r.queue);
        // One line per time of day, as ClearML's dashboard has one row per time.
        out.push_str("<td class=\"mono schedule\">");
        for form in &r.clearml {
            el(out, "div", "", form);
        }
        out.push_str("</td>");
        el(out, "td", "", &r.description);
        out.push_str("<td>");
        if r.enabled {
            time_or(out, r.next_run.as_deref(), "—");
        } else {
            out.push_str("<span class=\"badge paused\">Paused</span>");
        }
        if r.run_requested {
            out.push_str(" <span class=\"badge\">Run requested</span>");
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
}

/// The Executed Tasks rows, newest first as the server sends them.
fn runs(out: &mut String, runs: &[Run]) {
    for r in runs {
        out.push_str("<tr><td>");
        time(out, &r.started);
        out.push_str("</td><td class=\"finished\">");
        time_or(out, r.finished.as_deref(), "None");
        out.push_str("</td><td>");
        status(out, &r.status);
        out.push_str("</td>");
        let took = r.duration_seconds.as_deref().map(duration);
        el(out, "td", "num", took.as_deref().unwrap_or("—"));
        out.push_str("<td class=\"mono\">");
        // Only web links become anchors: a `javascript:` URL in an answer stays inert text.
        match r.link.as_deref().filter(|l| is_web_link(l)) {
            Some(href) => {
                out.push_str("<a href=\"");
                escape(out, href);
                out.push_str("\" target=\"_blank\" rel=\"noopener noreferrer\">");
                escape(out, &r.task_id);
                out.push_str("</a>");
            }
            None => {
                out.push_str("<span>");
                escape(out, &r.task_id);
                out.push_str("</span>");
            }
        }
        out.push_str("</td></tr>");
    }
}

fn is_web_link(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// The Scheduler Log, newest first, each line's level as a class for its colour.
fn log(out: &mut String, items: &[LogItem]) {
    for l in items {
        let level = l.level.to_ascii_lowercase();
        out.push_str("<li class=\"lvl-");
        escape(out, &level);
        out.push_str("\">");
        time(out, &l.at);
        out.push_str("<span class=\"level\">");
        escape(out, &level.to_ascii_uppercase());
        out.push_str("</span><span class=\"msg\">");
        escape(out, &l.message);
        out.push_str("</span></li>");
    }
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
            clearml: vec!["minute=20, hour=6".into()],
            description: "At 06:20 UTC, every day".into(),
            next_run: Some("2026-11-26T06:20:00Z".into()),
            enabled,
            run_requested: false,
        }
    }

    #[test]
    fn scheduled_rows_carry_their_item_and_owner_buttons() {
        let html = scheduled_section(&[row("a\"b", true), row("c", false)], FIRST_ROWS, true);
        let body = html
            .split_once("<tbody>")
            .and_then(|(_, b)| b.split_once("</tbody>"))
            .unwrap()
            .0;
        assert_eq!(
            body,
            concat!(
                r#"<tr data-item="a&quot;b"><td class="mono" title="Destination project: Team &lt;A&gt;">aabb</td>"#,
                r#"<td>default</td><td class="mono schedule"><div>minute=20, hour=6</div></td><td>At 06:20 UTC, every day</td>"#,
                r#"<td><time datetime="2026-11-26T06:20:00Z">2026-11-26 06:20 UTC</time></td>"#,
                r#"<td class="row-actions"><button class="small run-now">Run now</button>"#,
                r#"<button class="small task-toggle" data-action="pause">Pause</button></td></tr>"#,
                r#"<tr class="disabled" data-item="c"><td class="mono" title="Destination project: Team &lt;A&gt;">aabb</td>"#,
                r#"<td>default</td><td class="mono schedule"><div>minute=20, hour=6</div></td><td>At 06:20 UTC, every day</td>"#,
                r#"<td><span class="badge paused">Paused</span></td>"#,
                r#"<td class="row-actions"><button class="small run-now">Run now</button>"#,
                r#"<button class="small task-toggle" data-action="resume">Resume</button></td></tr>"#,
            )
        );
        assert!(html.contains(r#"<span class="sr-only">Actions</span>"#));
        let shared = scheduled_section(&[row("a", true)], FIRST_ROWS, false);
        assert!(
            !shared.contains("button") && !shared.contains("Actions"),
            "{shared}"
        );
        assert_eq!(
            scheduled_section(&[], FIRST_ROWS, true),
            r#"<p class="muted empty">No scheduled tasks.</p>"#
        );
    }

    #[test]
    fn each_time_has_its_clearml_line_and_a_waiting_run_now_shows() {
        let mut r = row("a", true);
        r.clearml = vec![
            "minute=0, hour=12, day=15".into(),
            "minute=0, hour=12, day=last".into(),
        ];
        r.run_requested = true;
        let html = scheduled_section(&[r], FIRST_ROWS, true);
        assert!(
            html.contains(
                r#"<td class="mono schedule"><div>minute=0, hour=12, day=15</div><div>minute=0, hour=12, day=last</div></td>"#
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"06:20 UTC</time> <span class="badge">Run requested</span></td>"#),
            "{html}"
        );
    }

    #[test]
    fn long_tables_show_their_first_rows_and_a_button_for_the_rest() {
        let rows: Vec<_> = (0..5).map(|i| row(&format!("i{i}"), true)).collect();
        let html = scheduled_section(&rows, 2, false);
        assert_eq!(html.matches("<tr data-item").count(), 2);
        assert!(html.ends_with(r#"<p class="muted show-all">Showing 2 of 5. <button type="button" class="link" id="scheduled-all">Show all 5</button></p>"#), "{html}");
        let all = scheduled_section(&rows, usize::MAX, false);
        assert_eq!(all.matches("<tr data-item").count(), 5);
        assert!(!all.contains("show-all"));
    }

    fn run(link: &str, finished: Option<&str>) -> Run {
        Run {
            task_id: "t1".into(),
            item: "a".into(),
            started: "2026-11-25T10:00:00Z".into(),
            finished: finished.map(str::to_string),
            status: "in_progress".into(),
            duration_seconds: finished.map(|_| "3725".into()),
            link: Some(link.into()),
        }
    }

    #[test]
    fn runs_show_none_for_unfinished_and_link_only_web_urls() {
        let page = Page {
            items: vec![
                run("https://app.clear.ml/t1", Some("2026-11-25T11:02:05Z")),
                run("javascript:alert(1)", None),
            ],
            total: 7,
        };
        let html = runs_section(&page, FIRST_ROWS);
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
        assert_eq!(html.matches("<tr>").count(), 3, "header and two runs");
        assert!(html.contains(r#"<span class="status st-in-progress">in_progress</span>"#));
        assert!(html.contains(r#"<th scope="col" class="num">Duration</th>"#));
        assert!(
            html.ends_with(r#"<p class="muted">The 2 most recent of 7 runs. <button type="button" class="link" id="runs-more">Show older runs</button></p>"#),
            "{html}"
        );
    }

    #[test]
    fn log_lines_are_coloured_by_level_and_escaped() {
        let line = LogItem {
            at: "2026-11-25T10:00:00Z".into(),
            level: "Warning".into(),
            message: "queue <gpu> missing".into(),
        };
        let html = log_section(&Page {
            items: vec![line.clone()],
            total: 1,
        });
        assert_eq!(
            html,
            concat!(
                r#"<ol class="log" id="log"><li class="lvl-warning"><time datetime="2026-11-25T10:00:00Z">"#,
                r#"2026-11-25 10:00 UTC</time><span class="level">WARNING</span>"#,
                r#"<span class="msg">queue &lt;gpu&gt; missing</span></li></ol>"#
            )
        );
        assert!(log_section(&Page::default()).contains("The log is empty."));
        // The server's page limit reached: the count, and no button asking for more.
        let full = Page {
            items: vec![line; MAX_PAGE],
            total: MAX_PAGE + 1,
        };
        let html = log_section(&full);
        let end = format!(
            "<p class=\"muted\">The {MAX_PAGE} most recent of {} log lines.</p>",
            MAX_PAGE + 1
        );
        assert!(html.ends_with(&end), "{}", &html[html.len() - 200..]);
    }

    #[test]
    fn the_head_has_owner_actions_only_for_the_owner() {
        let mut i = DashInstance {
            id: "a b".into(),
            name: "Nightly <1>".into(),
            paused: true,
        };
        let owner = head(&i, true);
        assert!(owner.starts_with(r#"<h1 id="dash-title">Nightly &lt;1&gt;<span class="badge paused">Paused</span></h1>"#), "{owner}");
        assert!(
            owner.contains(r##"href="#/instances/a%20b/edit""##)
                && owner.contains("Resume instance")
        );
        i.paused = false;
        assert!(head(&i, true).contains("Pause instance"));
        let shared = head(&i, false);
        assert_eq!(
            shared,
            r#"<h1 id="dash-title">Nightly &lt;1&gt;<span class="badge">Read-only</span></h1>"#
        );
    }
}
