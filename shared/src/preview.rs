//! What one task would do, before it is saved: its next runs, ClearML's form and the sentence.
//!
//! `POST /api/preview` answers with it, and the app computes it as the user types; both call
//! [`preview_task`], so the form's live preview is the server's by construction.

use serde_json::{json, Map, Value};

use crate::api::{iso, Preview};
use crate::{parse_config_value, Instant, ValidationError, FORMAT_V1};

/// The most next runs a preview lists.
pub const MAX_COUNT: usize = 100;

/// Validates `task` (one task of the configuration format; `base_task_id` and `queue` may be
/// absent or empty: a preview is about the schedule) as the only task of a configuration, and previews its next `count` runs after
/// `after`. The messages' paths are relative to the task (`times[1]`, not
/// `scheduled_tasks[0].times[1]`). `notify` names channels of the whole configuration, which a
/// preview does not have: it is no part of the schedule and is left out.
pub fn preview_task(
    mut task: Map<String, Value>,
    after: Instant,
    count: usize,
) -> Result<Preview, Vec<ValidationError>> {
    task.remove("notify");
    for field in ["base_task_id", "queue"] {
        let blank = match task.get(field) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        };
        if blank {
            task.insert(field.into(), Value::from("preview"));
        }
    }
    let doc =
        json!({"format": FORMAT_V1, "name": "preview", "scheduled_tasks": [Value::Object(task)]});
    let config = parse_config_value(&doc, Some(after))
        .map_err(|errors| errors.into_iter().map(relative).collect::<Vec<_>>())?;
    let t = &config.scheduled_tasks()[0];
    Ok(Preview {
        next: t
            .schedule()
            .upcoming(after, count.min(MAX_COUNT))
            .into_iter()
            .map(iso)
            .collect(),
        clearml: t.dashboard_rows().into_iter().map(|r| r.text).collect(),
        description: t.describe(),
    })
}

/// `scheduled_tasks[0].x` → `x`, `scheduled_tasks[0]` → `""`.
fn relative(e: ValidationError) -> ValidationError {
    match e.path.strip_prefix("scheduled_tasks[0]") {
        Some(rest) => ValidationError {
            path: rest.trim_start_matches('.').to_string(),
            message: e.message,
        },
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_zoned_daily_task_previews_its_next_runs_across_a_dst_change() {
        let after = Instant::from_utc(2026, 3, 27, 12, 0).unwrap();
        let p = preview_task(
            task(json!({"recurrence": "daily", "times": ["06:20"], "timezone": "Europe/London"})),
            after,
            3,
        )
        .unwrap();
        // Clocks go forward on Sunday 29 March: 06:20 is 06:20Z before, 05:20Z after.
        assert_eq!(
            p.next,
            [
                "2026-03-28T06:20:00Z",
                "2026-03-29T05:20:00Z",
                "2026-03-30T05:20:00Z"
            ]
        );
        assert_eq!(p.clearml, ["minute=20, hour=6, day=1"]);
    }

    #[test]
    fn a_tasks_notify_list_is_no_part_of_its_preview() {
        let after = Instant::from_utc(2026, 3, 27, 12, 0).unwrap();
        let t = json!({"recurrence": "daily", "times": ["06:20"], "notify": ["ops"]});
        assert_eq!(preview_task(task(t), after, 1).unwrap().next.len(), 1);
    }

    #[test]
    fn what_to_clone_and_where_may_be_left_empty() {
        let after = Instant::from_utc(2026, 3, 27, 12, 0).unwrap();
        let t =
            json!({"base_task_id": "", "queue": " ", "recurrence": "daily", "times": ["06:20"]});
        assert!(preview_task(task(t), after, 1).is_ok());
        let t = json!({"base_task_id": 5, "recurrence": "daily", "times": ["06:20"]});
        assert_eq!(
            preview_task(task(t), after, 1).unwrap_err()[0].path,
            "base_task_id"
        );
    }

    #[test]
    fn problems_are_named_relative_to_the_task() {
        let errors = preview_task(
            task(json!({"recurrence": "daily", "times": ["06:20", "25:00"]})),
            Instant::from_utc(2026, 3, 27, 12, 0).unwrap(),
            5,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "times[1]");
    }
}
