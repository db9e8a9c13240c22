//! One scheduled-task row of the instance form: the values of its inputs, the task of the
//! configuration file they make, the row's HTML, and where a validation message goes.
//!
//! Why HTML text and not a Leptos component per field: the row's inputs own their values
//! (uncontrolled inputs, as in a plain HTML form), and the form reads them when it needs the
//! task: for the live preview, Save and Export. A reactive binding per input, a signal per
//! field and a view type per field group made the form most of the app's wasm; this module is
//! plain string building, and the form (see `form.rs`) moves it in and out of the page with a
//! handful of DOM calls and one delegated listener per event kind. Everything here is pure, so
//! it is tested natively.

use crate::api::Preview;
use crate::html::{escape, time};
use crate::json::Json;

/// The weekdays as the configuration file names them, in week order (the order they are
/// written in, whatever the order they were ticked in).
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const WEEKDAY_LABELS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const RECURRENCES: [(&str, &str); 5] = [
    ("none", "None"),
    ("daily", "Daily"),
    ("weekly", "Weekly"),
    ("monthly", "Monthly"),
    ("cron", "Cron"),
];

/// The task fields the form edits, each with the suffix of its input's id (`t7-queue`) and of
/// its message slot (`t7-queue-msg`). `enabled` has no slot: its messages go under the row.
/// Any other field of an imported task (`id`, `name`, `catch_up`, …) is kept as it was.
const FIELDS: [(&str, &str); 14] = [
    ("base_task_id", "base"),
    ("destination_project", "project"),
    ("queue", "queue"),
    ("recurrence", "recurrence"),
    ("times", "times"),
    ("date", "date"),
    ("weekdays", "weekdays"),
    ("days", "days"),
    ("cron", "cron"),
    ("timezone", "tz"),
    ("enabled", ""),
    ("single_instance", "single"),
    ("execution_limit_hours", "limit"),
    ("task_parameters", "params"),
];

/// What one row's inputs hold, as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct RowValues {
    pub base_task_id: String,
    pub destination_project: String,
    pub queue: String,
    pub recurrence: String,
    pub times: Vec<String>,
    pub date: String,
    pub weekdays: Vec<String>,
    /// `1, 15, last` as typed.
    pub days: String,
    pub cron: String,
    pub timezone: String,
    pub enabled: bool,
    pub single_instance: bool,
    /// Execution limit in hours, as typed.
    pub limit: String,
    /// Task parameters, one `name=value` a line.
    pub params: String,
}

fn text(v: Option<&Json>) -> String {
    v.map(Json::text).unwrap_or_default()
}

impl RowValues {
    /// A new row: daily, on the `default` queue, in UTC, one empty time.
    pub fn blank() -> RowValues {
        RowValues::from_task(&Json::object())
    }

    /// The values a task of the configuration file puts in the inputs.
    pub fn from_task(o: &Json) -> RowValues {
        let list = |k: &str| o.get(k).map(Json::as_array).unwrap_or_default();
        let mut times: Vec<String> = list("times").iter().map(Json::text).collect();
        if times.is_empty() {
            times.push(String::new());
        }
        let params = o
            .get("task_parameters")
            .map(|m| {
                m.as_object()
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.text()))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        RowValues {
            base_task_id: text(o.get("base_task_id")),
            destination_project: text(o.get("destination_project")),
            queue: o
                .get("queue")
                .map(Json::text)
                .unwrap_or_else(|| "default".into()),
            recurrence: o.opt_str("recurrence").unwrap_or_else(|| "daily".into()),
            times,
            date: text(o.get("date")),
            weekdays: list("weekdays").iter().map(Json::text).collect(),
            days: list("days")
                .iter()
                .map(Json::text)
                .collect::<Vec<_>>()
                .join(", "),
            cron: text(o.get("cron")),
            timezone: o.opt_str("timezone").unwrap_or_else(|| "UTC".into()),
            enabled: o.bool_or("enabled", true),
            single_instance: o.bool_or("single_instance", false),
            limit: text(o.get("execution_limit_hours")),
            params,
        }
    }

    /// The task as the configuration file writes it (defaults omitted), its fields in the file
    /// format's order, with `id` first and the fields the form does not edit (`extra`) last.
    pub fn to_task(&self, extra: &[(String, Json)]) -> Json {
        let mut o = Json::Object(extra.iter().filter(|(k, _)| k == "id").cloned().collect());
        o.set("base_task_id", self.base_task_id.trim());
        let project = self.destination_project.trim();
        if !project.is_empty() {
            o.set("destination_project", project);
        }
        o.set("queue", self.queue.trim());
        let rec = self.recurrence.as_str();
        o.set("recurrence", rec);
        if rec == "cron" {
            o.set("cron", self.cron.trim());
        } else {
            let times: Vec<Json> = self.times.iter().map(|t| t.trim().into()).collect();
            o.set("times", times);
        }
        match rec {
            "none" => o.set("date", self.date.trim()),
            "weekly" => {
                // Week order, whatever the order the input gave them in.
                let days: Vec<Json> = WEEKDAYS
                    .iter()
                    .filter(|d| self.weekdays.iter().any(|w| w == *d))
                    .map(|d| Json::from(*d))
                    .collect();
                o.set("weekdays", days);
            }
            "monthly" => {
                let days: Vec<Json> = self
                    .days
                    .split([',', ' '])
                    .filter(|d| !d.is_empty())
                    .map(|d| {
                        d.parse::<u32>()
                            .map(Json::from)
                            .unwrap_or_else(|_| d.into())
                    })
                    .collect();
                o.set("days", days);
            }
            _ => {}
        }
        let tz = self.timezone.trim();
        if !tz.is_empty() && tz != "UTC" {
            o.set("timezone", tz);
        }
        if !self.enabled {
            o.set("enabled", false);
        }
        if self.single_instance {
            o.set("single_instance", true);
        }
        let limit = self.limit.trim();
        if !limit.is_empty() {
            // A number when it is one; otherwise the text, so the server names the problem.
            o.set(
                "execution_limit_hours",
                Json::number(limit).unwrap_or_else(|| limit.into()),
            );
        }
        // One `name=value` a line; a name given twice keeps its last value.
        let mut params = Json::object();
        for line in self.params.lines().filter(|l| !l.trim().is_empty()) {
            let (name, value) = line.split_once('=').unwrap_or((line, ""));
            params.set(name.trim(), value.trim());
        }
        if !params.as_object().is_empty() {
            o.set("task_parameters", params);
        }
        for (k, v) in extra.iter().filter(|(k, _)| k != "id") {
            o.set(k, v.clone());
        }
        o
    }
}

/// The members of a task that the form does not edit, kept for the round trip.
pub fn extra_fields(task: &Json) -> Vec<(String, Json)> {
    task.as_object()
        .iter()
        .filter(|(k, _)| !FIELDS.iter().any(|(f, _)| f == k))
        .cloned()
        .collect()
}

/// Whether an error's `path` names something inside `field` (`times[2]`, `task_parameters.x`).
pub fn is_under(path: &str, field: &str) -> bool {
    path.strip_prefix(field)
        .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
}

/// Where a validation message of a row goes, from its path inside the task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slot {
    /// Under the field whose id ends in this suffix (`queue`: `t7-queue-msg`).
    Field(&'static str),
    /// Under the row's n-th time of day (0-based).
    Time(usize),
    /// Under the row, with its path (the row's own problems, `enabled`, fields not shown).
    Row,
}

pub fn slot(path: &str) -> Slot {
    let time = path
        .strip_prefix("times[")
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|n| n.parse().ok());
    if let Some(i) = time {
        return Slot::Time(i);
    }
    FIELDS
        .iter()
        .find(|(field, id)| !id.is_empty() && (path == *field || is_under(path, field)))
        .map_or(Slot::Row, |(_, id)| Slot::Field(id))
}

/// `<p class="error">…</p>` for a message in a slot.
pub fn message_html(out: &mut String, message: &str) {
    out.push_str("<p class=\"error\">");
    escape(out, message);
    out.push_str("</p>");
}

/// A row's `path: message` line under the row (just the message when the path is empty).
pub fn row_message(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_string()
    } else {
        format!("{path}: {message}")
    }
}

/// What the row's live help shows.
pub enum Help<'a> {
    /// The row has not been touched: nothing to check yet.
    Untouched,
    /// Asked the server; no answer yet.
    Checking,
    /// The server found problems (shown next to the fields).
    Fix,
    /// ClearML's form, the sentence and the next runs.
    Preview(&'a Preview),
}

/// The inner HTML of the row's `.preview` box.
pub fn help_html(help: Help) -> String {
    let muted = |t: &str| format!("<p class=\"muted\">{t}</p>");
    match help {
        Help::Untouched => muted("Fill in the row to see when it runs."),
        Help::Checking => muted("Checking…"),
        Help::Fix => muted("Fix the fields above to see the next runs."),
        Help::Preview(p) => {
            let mut out = String::from("<p class=\"sentence\">");
            escape(&mut out, &p.description);
            out.push_str("</p><p class=\"mono muted clearml\">");
            escape(&mut out, &p.clearml.join("; "));
            out.push_str("</p>");
            if !p.next.is_empty() {
                out.push_str(
                    "<div class=\"next-runs\"><span class=\"muted\">Next runs: </span><ol class=\"next\">",
                );
                for t in &p.next {
                    out.push_str("<li>");
                    time(&mut out, t);
                    out.push_str("</li>");
                }
                out.push_str("</ol></div>");
            }
            out
        }
    }
}

/// Builds the row's HTML into a string, with ids `t{key}-…`.
struct Html {
    out: String,
    key: usize,
}

impl Html {
    fn push(&mut self, s: &str) -> &mut Self {
        self.out.push_str(s);
        self
    }

    fn text(&mut self, s: &str) -> &mut Self {
        escape(&mut self.out, s);
        self
    }

    /// ` id="t7-queue"` (or the name alone with `attr` = `for`).
    fn id(&mut self, attr: &str, suffix: &str) -> &mut Self {
        let key = self.key;
        self.out.push_str(&format!(" {attr}=\"t{key}-{suffix}\""));
        self
    }

    /// The message slot of a field: filled by the form when the server finds a problem.
    fn messages(&mut self, suffix: &str) -> &mut Self {
        self.push("<div class=\"field-msg\" aria-live=\"polite\"")
            .id("id", &format!("{suffix}-msg"))
            .push("></div>")
    }

    /// A labelled text input with its message slot.
    fn text_field(
        &mut self,
        suffix: &str,
        label: &str,
        value: &str,
        placeholder: &str,
        class: &str,
    ) -> &mut Self {
        self.push("<div class=\"field\"><label")
            .id("for", suffix)
            .push(">")
            .text(label)
            .push("</label><input type=\"text\"")
            .id("id", suffix)
            .push(" class=\"")
            .push(class)
            .push("\" placeholder=\"")
            .push(placeholder)
            .push("\"")
            .id("aria-describedby", &format!("{suffix}-msg"))
            .push(" value=\"")
            .text(value)
            .push("\">")
            .messages(suffix)
            .push("</div>")
    }

    fn checkbox(&mut self, suffix: &str, checked: bool, label: &str) -> &mut Self {
        self.push("<label class=\"check\"><input type=\"checkbox\"")
            .id("id", suffix)
            .push(if checked { " checked>" } else { ">" })
            .text(label)
            .push("</label>")
    }
}

/// One time of day: its input, a remove button (disabled on a row's only time) and its slot.
/// `n` is its 1-based position, for the screen reader's label.
pub fn time_html(key: usize, time_key: usize, n: usize, value: &str) -> String {
    let mut h = Html {
        out: String::new(),
        key,
    };
    let id = format!("time-{time_key}");
    h.push("<div class=\"time\"><label class=\"sr-only\"")
        .id("for", &id)
        .push(&format!(">Time {n}</label><input type=\"text\" class=\"time-input\" inputmode=\"numeric\" placeholder=\"06:20\" size=\"6\""))
        .id("id", &id)
        .id("aria-describedby", &format!("{id}-msg"))
        .push(" value=\"")
        .text(value)
        .push("\"><button type=\"button\" class=\"small icon remove-time\" aria-label=\"Remove this time\">×</button>")
        .messages(&id)
        .push("</div>");
    h.out
}

/// The whole row. `time_keys` gives each time of day its stable key (ids of added times never
/// collide with earlier ones); the form numbers the legend ("Task 2") itself.
pub fn row_html(key: usize, v: &RowValues, time_keys: &mut impl FnMut() -> usize) -> String {
    let mut h = Html {
        out: String::with_capacity(6000),
        key,
    };
    h.push("<fieldset class=\"card task-row rec-")
        .text(&v.recurrence)
        .push(&format!(
            "\" data-row=\"{key}\"><legend>Task</legend><div class=\"row-grid\">"
        ))
        .text_field(
            "base",
            "Base Task ID",
            &v.base_task_id,
            "aabbccddeeff00112233445566778899",
            "mono",
        )
        .text_field(
            "project",
            "Destination Project",
            &v.destination_project,
            "Scheduled/retrain",
            "",
        )
        .text_field("queue", "Queue", &v.queue, "default", "")
        .push("<div class=\"field\"><label")
        .id("for", "recurrence")
        .push(">Recurrence</label><select class=\"recurrence\"")
        .id("id", "recurrence")
        .push(">");
    for (value, label) in RECURRENCES {
        let selected = if v.recurrence == value {
            " selected"
        } else {
            ""
        };
        h.push(&format!(
            "<option value=\"{value}\"{selected}>{label}</option>"
        ));
    }
    h.push("</select>")
        .messages("recurrence")
        .push("</div>")
        .text_field("tz", "Time zone", &v.timezone, "UTC", "")
        .push("</div>");

    // Every recurrence's fields are in the row; its `rec-…` class shows the ones that apply
    // (styles.css), so switching keeps what was typed.
    h.push("<fieldset class=\"times\"><legend>Time of the Day (HH:MM)</legend>");
    for (i, t) in v.times.iter().enumerate() {
        let html = time_html(key, time_keys(), i + 1, t);
        h.push(&html);
    }
    h.push("<button type=\"button\" class=\"small add-time\">+ Add time</button>")
        .messages("times")
        .push("</fieldset><div class=\"field narrow only-none\"><label")
        .id("for", "date")
        .push(">Date</label><input class=\"date\" type=\"date\"")
        .id("id", "date")
        .push(" value=\"")
        .text(&v.date)
        .push("\">")
        .messages("date")
        .push("</div><fieldset class=\"weekdays only-weekly\"><legend>Weekdays</legend>");
    for (day, label) in WEEKDAYS.iter().zip(WEEKDAY_LABELS) {
        let checked = if v.weekdays.iter().any(|w| w == day) {
            " checked"
        } else {
            ""
        };
        h.push(&format!(
            "<label class=\"check\"><input type=\"checkbox\" class=\"weekday\" value=\"{day}\"{checked}>{label}</label>"
        ));
    }
    h.messages("weekdays")
        .push("</fieldset><div class=\"only-monthly\">")
        .text_field(
            "days",
            "Days of the month (numbers, or \"last\")",
            &v.days,
            "1, 15, last",
            "days",
        )
        .push("</div><div class=\"only-cron\">")
        .text_field(
            "cron",
            "Cron expression (minute hour day month weekday)",
            &v.cron,
            "*/15 * * * *",
            "mono cron",
        )
        .push("</div><details class=\"options\"><summary>Options: single instance, execution limit, task parameters</summary><div class=\"row-grid\"><div class=\"field\">")
        .checkbox(
            "single",
            v.single_instance,
            "Single instance (skip a run while the previous one is still running)",
        )
        .messages("single")
        .push("</div><div class=\"field\">")
        .checkbox("enabled", v.enabled, "Enabled")
        .push("</div>")
        .text_field("limit", "Execution limit (hours)", &v.limit, "2.5", "")
        .push("<div class=\"field wide\"><label")
        .id("for", "params")
        .push(">Task parameters (one name=value a line)</label><textarea rows=\"3\" placeholder=\"Args/batch=12\"")
        .id("id", "params")
        .id("aria-describedby", "params-msg")
        .push(">")
        .text(&v.params)
        .push("</textarea>")
        .messages("params")
        .push("</div></div></details>")
        .messages("other")
        .push("<div class=\"preview\" aria-live=\"polite\">")
        .push(&help_html(Help::Untouched))
        .push("</div><div class=\"row-foot\"><button type=\"button\" class=\"small danger remove-item\">Remove item</button></div></fieldset>");
    h.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(text: &str) -> Json {
        Json::parse(text).unwrap()
    }

    #[test]
    fn a_task_round_trips_through_the_inputs_with_the_fields_the_form_does_not_show() {
        let t = task(
            r#"{"id":"report","base_task_id":"b1","queue":"services","recurrence":"weekly",
            "times":["09:00"],"weekdays":["monday","friday"],"single_instance":true,
            "execution_limit_hours":2.5,"task_parameters":{"Args/batch":"12"},"catch_up":"skip"}"#,
        );
        let v = RowValues::from_task(&t);
        assert_eq!(v.weekdays, ["monday", "friday"]);
        assert_eq!(v.params, "Args/batch=12");
        assert_eq!(v.to_task(&extra_fields(&t)).to_string(), t.to_string());
    }

    #[test]
    fn typed_values_become_the_files_task_with_defaults_left_out() {
        let mut v = RowValues::blank();
        assert_eq!(
            (v.queue.as_str(), v.recurrence.as_str(), v.times.len()),
            ("default", "daily", 1)
        );
        v.base_task_id = " b1 ".into();
        v.recurrence = "monthly".into();
        v.times = vec!["12:00".into(), " 18:00".into()];
        v.days = "15, last 1".into();
        v.limit = "x".into();
        v.params = "a=1\n\nb = 2\na=3".into();
        assert_eq!(
            v.to_task(&[]).to_string(),
            r#"{"base_task_id":"b1","queue":"default","recurrence":"monthly","times":["12:00","18:00"],"days":[15,"last",1],"execution_limit_hours":"x","task_parameters":{"a":"3","b":"2"}}"#
        );
        v.recurrence = "weekly".into();
        v.weekdays = vec!["sunday".into(), "monday".into()];
        assert!(v
            .to_task(&[])
            .to_string()
            .contains(r#""weekdays":["monday","sunday"]"#));
    }

    #[test]
    fn messages_go_to_their_fields_times_or_under_the_row() {
        assert_eq!(slot("queue"), Slot::Field("queue"));
        assert_eq!(slot("times[2]"), Slot::Time(2));
        assert_eq!(slot("times"), Slot::Field("times"));
        assert_eq!(slot("task_parameters.Args/x"), Slot::Field("params"));
        assert_eq!(slot("timezone"), Slot::Field("tz"));
        assert_eq!(slot("enabled"), Slot::Row);
        assert_eq!(slot("catch_up.policy"), Slot::Row);
        assert_eq!(slot(""), Slot::Row);
    }

    #[test]
    fn an_error_path_is_under_a_field_only_past_a_bracket_or_dot() {
        assert!(is_under("times[2]", "times"));
        assert!(is_under("task_parameters.Args/batch", "task_parameters"));
        assert!(!is_under("times", "times"));
        assert!(!is_under("timezone", "times"));
        assert!(!is_under("days", "date"));
    }

    #[test]
    fn the_rows_html_holds_its_values_escaped_with_ids_and_the_chosen_options() {
        let mut v = RowValues::blank();
        v.base_task_id = "a\"<b>".into();
        v.recurrence = "weekly".into();
        v.weekdays = vec!["friday".into()];
        v.times = vec!["06:20".into(), "18:00".into()];
        let mut next = 40;
        let html = row_html(7, &v, &mut || {
            next += 1;
            next
        });
        assert!(html.starts_with(r#"<fieldset class="card task-row rec-weekly" data-row="7">"#));
        assert!(html.contains(r#"id="t7-base" class="mono" placeholder="aabbccddeeff00112233445566778899" aria-describedby="t7-base-msg" value="a&quot;&lt;b&gt;">"#), "{html}");
        assert!(html.contains(r#"<option value="weekly" selected>Weekly</option>"#));
        assert!(html.contains(r#"value="friday" checked>Fri"#));
        assert!(html.contains(r#"value="monday">Mon"#));
        assert!(html.contains(r#"id="t7-time-41""#) && html.contains(r#"id="t7-time-42""#));
        assert!(html.contains(r#"<input type="checkbox" id="t7-enabled" checked>Enabled"#));
        assert!(html.contains(r#"<input type="checkbox" id="t7-single">"#));
        assert_eq!(
            html.matches("<fieldset").count(),
            html.matches("</fieldset>").count()
        );
        assert_eq!(html.matches("<div").count(), html.matches("</div>").count());
    }

    #[test]
    fn the_live_help_shows_the_sentence_form_and_next_runs_escaped() {
        let p = Preview {
            next: vec!["2026-11-26T06:20:00Z".into()],
            clearml: vec!["minute=20, hour=6".into(), "x<y".into()],
            description: "At 06:20 & later".into(),
        };
        assert_eq!(
            help_html(Help::Preview(&p)),
            concat!(
                r#"<p class="sentence">At 06:20 &amp; later</p><p class="mono muted clearml">minute=20, hour=6; x&lt;y</p>"#,
                r#"<div class="next-runs"><span class="muted">Next runs: </span><ol class="next"><li>"#,
                r#"<time datetime="2026-11-26T06:20:00Z">2026-11-26 06:20 UTC</time></li></ol></div>"#
            )
        );
        assert!(help_html(Help::Fix).contains("Fix the fields above"));
    }
}
