//! The configuration format: parse, validate, export, describe.

// Some tests need the `tz` feature; without it their helpers are unused.
#![cfg_attr(not(feature = "tz"), allow(unused))]

use scheduler_core::{parse_config, parse_stored_config, Instant, Recurrence};

fn now() -> Instant {
    Instant::from_utc(2025, 1, 10, 10, 0).unwrap()
}

const EXAMPLE: &str = r#"{
  "format": "clearml-task-scheduler/v1",
  "name": "Nightly retraining",
  "scheduled_tasks": [
    { "id": "retrain",
      "base_task_id": "aabbccddeeff00112233445566778899",
      "destination_project": "Scheduled/retrain",
      "queue": "default",
      "recurrence": "daily",
      "times": ["18:00", "06:20"] },
    { "base_task_id": "b1", "queue": "q", "recurrence": "weekly",
      "weekdays": ["friday", "monday"], "times": ["08:30"], "timezone": "Europe/London",
      "single_instance": true, "execution_limit_hours": 1.5,
      "task_parameters": {"Args/batch": "12", "Args/a": "x"}, "catch_up": {"policy": "all", "window_minutes": 120} },
    { "base_task_id": "b2", "queue": "q", "recurrence": "monthly", "days": [15, "last"], "times": ["12:00"],
      "catch_up": "skip", "enabled": false },
    { "base_task_id": "b3", "queue": "q", "recurrence": "none", "date": "2025-03-15", "times": ["06:20"] },
    { "base_task_id": "b4", "queue": "q", "recurrence": "cron", "cron": "*/15  9-17 * * MON-FRI" }
  ]
}"#;

#[cfg(feature = "tz")] // the example uses Europe/London
#[test]
fn example_parses_and_exports_byte_stable() {
    let cfg = parse_config(EXAMPLE, now()).unwrap();
    assert_eq!(cfg.name(), "Nightly retraining");
    assert_eq!(cfg.scheduled_tasks().len(), 5);
    let json = cfg.to_json();
    let again = parse_config(&json, now()).unwrap();
    assert_eq!(again.to_json(), json);
    assert_eq!(again, cfg);
    // Defaults omitted, times sorted, ids generated and kept.
    assert!(
        json.contains("\"times\": [\n        \"06:20\",\n        \"18:00\"\n      ]"),
        "{json}"
    );
    assert!(!json.contains("\"enabled\": true"));
    assert!(json.contains("\"catch_up\": \"skip\""));
    let t1 = &cfg.scheduled_tasks()[1];
    assert!(
        t1.id().starts_with("task-") && t1.id().len() == 17,
        "{}",
        t1.id()
    );
    // Deterministic: same input, same ids.
    assert_eq!(parse_config(EXAMPLE, now()).unwrap().to_json(), json);
    assert_eq!(
        cfg.scheduled_tasks()[4].recurrence(),
        &Recurrence::Cron {
            expr: "*/15 9-17 * * MON-FRI".into()
        }
    );
}

#[cfg(feature = "tz")] // the example uses Europe/London
#[test]
fn export_field_order_is_fixed() {
    let cfg = parse_config(EXAMPLE, now()).unwrap();
    let json = cfg.to_json();
    let first = &json[..json.find("scheduled_tasks").unwrap()];
    assert_eq!(first, "{\n  \"format\": \"clearml-task-scheduler/v1\",\n  \"name\": \"Nightly retraining\",\n  \"");
    let t = &json[json.find("\"id\": \"retrain\"").unwrap()..];
    let order = [
        "\"id\"",
        "\"base_task_id\"",
        "\"destination_project\"",
        "\"queue\"",
        "\"recurrence\"",
        "\"times\"",
    ];
    let pos: Vec<usize> = order.iter().map(|k| t.find(k).unwrap()).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{t}");
}

#[cfg(feature = "tz")] // the example uses Europe/London
#[test]
fn all_problems_reported_at_once_with_paths() {
    let bad = r#"{
      "format": "clearml-task-scheduler/v1",
      "nmae": "x",
      "scheduled_tasks": [
        { "base_task_id": "", "queue": 3, "recurrence": "daily", "times": ["25:00", "6:5"] },
        { "base_task_id": "a", "queue": "q", "recurrence": "weekly", "weekdays": ["funday"], "times": ["08:00"], "qeueu": 1 },
        { "base_task_id": "a", "queue": "q", "recurrence": "monthly", "days": [0, 32, "first"], "times": ["08:00"], "cron": "* * * * *" },
        { "base_task_id": "a", "queue": "q", "recurrence": "cron", "cron": "0 0 30 2 *" },
        { "base_task_id": "a", "queue": "q", "recurrence": "none", "date": "2024-01-01", "times": ["00:00"] },
        { "base_task_id": "a", "queue": "q", "recurrence": "daily", "times": ["00:00"], "timezone": "Mars/Base",
          "task_parameters": {"Args/batch": 12}, "catch_up": "sometimes", "execution_limit_hours": -1 }
      ]
    }"#;
    let errs = parse_config(bad, now()).unwrap_err();
    let text = errs.to_string();
    let expect = [
        "nmae: unknown field; did you mean \"name\"?",
        "name: missing",
        "scheduled_tasks[0].base_task_id: is empty",
        "scheduled_tasks[0].queue: expected a string, found a number",
        "scheduled_tasks[0].times[0]: \"25:00\" is not a time of day; use HH:MM, 00:00 to 23:59",
        "scheduled_tasks[0].times[1]: \"6:5\" is not a time of day",
        "scheduled_tasks[1].qeueu: unknown field; did you mean \"queue\"?",
        "scheduled_tasks[1].weekdays[0]: \"funday\" is not a weekday",
        "scheduled_tasks[2].cron: does not apply to recurrence \"monthly\"",
        "scheduled_tasks[2].days[0]: 0 is not a day of the month",
        "scheduled_tasks[2].days[1]: 32 is not a day of the month",
        "scheduled_tasks[2].days[2]: \"first\" is not a day of the month",
        "scheduled_tasks[3].cron: can never fire",
        "scheduled_tasks[4].date: 2024-01-01 at every one of its times is already in the past",
        "scheduled_tasks[5].timezone: \"Mars/Base\" is not a known IANA time zone",
        "scheduled_tasks[5].task_parameters.Args/batch: expected a string; write \"12\" in quotes",
        "scheduled_tasks[5].catch_up: \"sometimes\" is not a catch-up policy",
        "scheduled_tasks[5].execution_limit_hours: -1 is out of range",
    ];
    for e in expect {
        assert!(text.contains(e), "missing {e:?} in:\n{text}");
    }
    // Serializes as a list of {path, message}.
    let v = serde_json::to_value(&errs).unwrap();
    assert_eq!(v[0]["path"], "nmae");
    assert!(v.as_array().unwrap().len() >= expect.len());
}

#[test]
fn stored_config_accepts_past_one_shot() {
    let json = r#"{"format": "clearml-task-scheduler/v1", "name": "x", "scheduled_tasks": [
        { "id": "a", "base_task_id": "a", "queue": "q", "recurrence": "none", "date": "2024-01-01", "times": ["00:00"] }]}"#;
    assert!(parse_config(json, now()).is_err());
    assert!(parse_stored_config(json).is_ok());
}

#[test]
fn limits_and_duplicates() {
    let task = r#"{ "id": "same", "base_task_id": "a", "queue": "q", "recurrence": "daily", "times": ["00:00"] }"#;
    let json = format!(
        r#"{{"format": "clearml-task-scheduler/v1", "name": "x", "scheduled_tasks": [{task}, {task}]}}"#
    );
    let e = parse_config(&json, now()).unwrap_err().to_string();
    assert!(
        e.contains("scheduled_tasks[1].id: \"same\" is already the id of scheduled_tasks[0]"),
        "{e}"
    );

    let many: Vec<String> = (0..501).map(|i| format!(r#"{{ "id": "t{i}", "base_task_id": "a", "queue": "q", "recurrence": "daily", "times": ["00:00"] }}"#)).collect();
    let json = format!(
        r#"{{"format": "clearml-task-scheduler/v1", "name": "x", "scheduled_tasks": [{}]}}"#,
        many.join(",")
    );
    let e = parse_config(&json, now()).unwrap_err().to_string();
    assert!(
        e.contains("scheduled_tasks: has 501 tasks; an instance holds at most 500"),
        "{e}"
    );

    let times: Vec<String> = (0..25).map(|i| format!("\"{i:02}:00\"")).collect();
    let json = format!(
        r#"{{"format": "clearml-task-scheduler/v1", "name": "{}", "scheduled_tasks": [{{ "base_task_id": "a", "queue": "q", "recurrence": "daily", "times": [{}] }}]}}"#,
        "n".repeat(201),
        times.join(",")
    );
    let e = parse_config(&json, now()).unwrap_err().to_string();
    assert!(
        e.contains("name: is 201 characters long; at most 200"),
        "{e}"
    );
    assert!(
        e.contains("scheduled_tasks[0].times: has 25 entries; at most 24"),
        "{e}"
    );
}

#[test]
fn wrong_top_level_and_bad_json() {
    let e = parse_config("[1]", now()).unwrap_err().to_string();
    assert!(e.contains("expected a JSON object"), "{e}");
    let e = parse_config("{\"format\": ", now())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not valid JSON"), "{e}");
    let e = parse_config(
        r#"{"format": "v0", "name": "x", "scheduled_tasks": []}"#,
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("format: \"v0\" is not a format this version reads"),
        "{e}"
    );
}

#[cfg(feature = "tz")] // the example uses Europe/London
#[test]
fn descriptions_and_dashboard_rows() {
    let cfg = parse_config(EXAMPLE, now()).unwrap();
    let t = cfg.scheduled_tasks();
    assert_eq!(t[0].describe(), "At 06:20 and 18:00 UTC, every day");
    let rows: Vec<String> = t[0].dashboard_rows().into_iter().map(|r| r.text).collect();
    assert_eq!(
        rows,
        ["minute=20, hour=6, day=1", "minute=0, hour=18, day=1"]
    );
    assert_eq!(
        t[1].describe(),
        "At 08:30 Europe/London on Monday and Friday"
    );
    assert_eq!(
        t[1].dashboard_rows()[0].text,
        "minute=30, hour=8, weekdays=[monday, friday]"
    );
    assert_eq!(
        t[2].describe(),
        "At 12:00 UTC on the 15th and the last day of every month"
    );
    let rows: Vec<String> = t[2].dashboard_rows().into_iter().map(|r| r.text).collect();
    assert_eq!(
        rows,
        [
            "minute=0, hour=12, day=15, month=1",
            "minute=0, hour=12, day=last, month=1"
        ]
    );
    assert_eq!(t[3].describe(), "At 06:20 UTC on 2025-03-15, once");
    assert_eq!(
        t[3].dashboard_rows()[0].text,
        "minute=20, hour=6, day=15, month=3, year=2025"
    );
    assert_eq!(
        t[4].describe(),
        "Every 15 minutes, during hour 09 to 17 (UTC) on Monday to Friday"
    );
    assert_eq!(t[4].dashboard_rows()[0].text, "cron=*/15 9-17 * * MON-FRI");
}

#[test]
fn cron_sentences() {
    let cases = [
        ("0 0 * * *", "At 00:00 UTC, every day"),
        ("30 6 * * 1-5", "At 06:30 UTC on Monday to Friday"),
        ("0 12 L * *", "At 12:00 UTC on the last day of the month"),
        (
            "0 9 1,15 * MON#2",
            "At 09:00 UTC on the 1st and 15th of the month or on the second Monday",
        ),
        ("* * * * *", "Every minute (UTC), every day"),
        (
            "5 */2 * JAN,JUL *",
            "At minute 5 past every hour, every 2 hours (UTC) in January and July",
        ),
    ];
    for (expr, want) in cases {
        let json = format!(
            r#"{{"format": "clearml-task-scheduler/v1", "name": "x", "scheduled_tasks": [{{ "base_task_id": "a", "queue": "q", "recurrence": "cron", "cron": "{expr}" }}]}}"#
        );
        let cfg = parse_config(&json, now()).unwrap();
        assert_eq!(cfg.scheduled_tasks()[0].describe(), want, "{expr}");
    }
}

#[test]
fn monthly_day_31_fires_in_seven_months() {
    let json = r#"{"format": "clearml-task-scheduler/v1", "name": "x", "scheduled_tasks": [
        { "base_task_id": "a", "queue": "q", "recurrence": "monthly", "days": [31], "times": ["00:00"] }]}"#;
    let cfg = parse_config(json, now()).unwrap();
    let s = cfg.scheduled_tasks()[0].schedule();
    let fires = s.upcoming(Instant::from_utc(2025, 1, 1, 0, 0).unwrap(), 7);
    let months: Vec<u32> = fires.iter().map(|t| t.to_utc().1).collect();
    assert_eq!(months, [1, 3, 5, 7, 8, 10, 12]);
    assert_eq!(fires[6].to_utc().0, 2025);
}

#[cfg(not(feature = "tz"))]
#[test]
fn without_tz_only_utc_is_accepted() {
    let json = r#"{"format": "clearml-task-scheduler/v1", "name": "x", "scheduled_tasks": [
        { "base_task_id": "a", "queue": "q", "recurrence": "daily", "times": ["00:00"], "timezone": "Europe/London" }]}"#;
    let e = parse_config(json, now()).unwrap_err().to_string();
    assert!(e.contains("scheduled_tasks[0].timezone: \"Europe/London\" cannot be used: this build has no time zone database"), "{e}");
    assert!(parse_config(&json.replace("Europe/London", "UTC"), now()).is_ok());
}

/// A file of a thousand broken tasks: the answer lists the first 100 problems and counts the
/// rest, so it stays readable (and small) however bad the file is.
#[test]
fn problems_past_the_hundredth_are_counted_not_listed() {
    let tasks: Vec<String> = (0..400).map(|_| "{}".to_string()).collect();
    let doc = format!(
        r#"{{"format": "clearml-task-scheduler/v1", "name": "x", "scheduled_tasks": [{}]}}"#,
        tasks.join(",")
    );
    let errs = parse_config(&doc, now()).unwrap_err();
    let listed = errs.errors();
    assert_eq!(listed.len(), 101);
    assert!(
        errs.len() > 400,
        "every task lacks several fields: {}",
        errs.len()
    );
    let last = &listed[100];
    assert_eq!(last.path, "");
    assert_eq!(
        last.message,
        format!(
            "and {} more problems not listed; fix the ones above and validate again",
            errs.len() - 100
        )
    );
}

/// `.` and `..` are path steps in the API's URLs (`/tasks/{id}/pause`): no id may start with a dot.
#[test]
fn task_ids_may_not_start_with_a_dot() {
    for id in [".", "..", ".hidden"] {
        let doc = format!(
            r#"{{"format": "clearml-task-scheduler/v1", "name": "x", "scheduled_tasks": [
                {{"id": "{id}", "base_task_id": "a", "queue": "q", "recurrence": "daily", "times": ["06:20"]}}]}}"#
        );
        let errs = parse_config(&doc, now()).unwrap_err();
        assert_eq!(errs.errors()[0].path, "scheduled_tasks[0].id", "{id}");
        assert!(errs.errors()[0].message.contains("starts with '.'"), "{id}");
    }
}

/// Values as ClearML will know them: no surrounding spaces, a project's name as clearml-server
/// stores it; and a parameter needs a section and a name.
#[test]
fn values_are_kept_as_clearml_names_them() {
    let doc = r#"{"format": "clearml-task-scheduler/v1", "name": " Nightly ", "scheduled_tasks": [
        {"id": "a", "base_task_id": " abc ", "queue": " default", "recurrence": "daily",
         "times": ["06:20"], "destination_project": " Team / Scheduled//retrain/ "}]}"#;
    let config = parse_config(doc, now()).unwrap();
    let t = &config.scheduled_tasks()[0];
    assert_eq!(config.name(), "Nightly");
    assert_eq!((t.base_task_id(), t.queue()), ("abc", "default"));
    assert_eq!(t.destination_project(), Some("Team/Scheduled/retrain"));
    for (field, value) in [
        ("destination_project", "\" / \""),
        ("name", "\"\u{200B}\u{200B}\""),
    ] {
        let doc = format!(
            r#"{{"format": "clearml-task-scheduler/v1", "name": "x", "scheduled_tasks": [
            {{"id": "a", "base_task_id": "b", "queue": "q", "recurrence": "daily", "times": ["06:20"], "{field}": {value}}}]}}"#
        );
        let errs = parse_config(&doc, now()).unwrap_err();
        assert_eq!(errs.errors()[0].path, format!("scheduled_tasks[0].{field}"));
    }
    let doc = r#"{"format": "clearml-task-scheduler/v1", "name": "x", "scheduled_tasks": [
        {"id": "a", "base_task_id": "b", "queue": "q", "recurrence": "daily", "times": ["06:20"],
         "task_parameters": {"Args/": "1", "/batch": "2", "Args/ok": "3"}}]}"#;
    let errs = parse_config(doc, now()).unwrap_err();
    assert_eq!(errs.len(), 2, "{errs}");
    assert!(
        errs.errors()[0].message.contains("section and a name"),
        "{errs}"
    );
}

/// A number with a decimal point where a whole one is asked for says so (not "out of range").
#[test]
fn a_decimal_point_in_a_whole_number_is_named() {
    let doc = r#"{"format": "clearml-task-scheduler/v1", "name": "x", "scheduled_tasks": [
        {"id": "a", "base_task_id": "b", "queue": "q", "recurrence": "daily", "times": ["06:20"],
         "retry": {"max": 3.0}, "catch_up": {"policy": "latest", "window_minutes": 60.0}}]}"#;
    let errs = parse_config(doc, now()).unwrap_err().to_string();
    assert!(
        errs.contains("retry.max: 3.0 is not a whole number"),
        "{errs}"
    );
    assert!(
        errs.contains("window_minutes: 60.0 is not a whole number"),
        "{errs}"
    );
}
