//! One scheduled task of the instance form: its inputs, their messages, and its live preview.
//!
//! The row's state is a [`TaskDraft`] (the core's type for a task as typed) in a signal; every
//! input reads its value from it and writes back on input. The live help is the core's
//! [`preview_task`], recomputed as the user types, with no request: the same validation, next
//! runs, ClearML form and sentence the server gives, time zones included.

use crate::util::{focus_id, now, time};
use crate::zones::Zones;
use leptos::either::EitherOf3;
use leptos::ev::Event;
use leptos::prelude::*;
use scheduler_core::api::Preview;
use scheduler_core::draft::{field_of, FieldOf, TaskDraft, RECURRENCES};
use scheduler_core::preview::preview_task;
use scheduler_core::{Instant, ValidationError, Weekday};
use serde_json::Value;

/// How many next runs the live help lists.
const NEXT_RUNS: usize = 5;

/// One row of the form.
#[derive(Clone, Copy)]
pub struct TaskRowState {
    /// Stable for the row's life (ids of its inputs: `t7-queue`).
    pub key: usize,
    pub draft: RwSignal<TaskDraft>,
    /// The user changed something, or the row came from a file or the server: the live help
    /// and the messages are on.
    pub touched: RwSignal<bool>,
    /// What the last Save found wrong in this row that the row alone does not show (a
    /// duplicate id, say), until the next edit.
    pub save_errors: RwSignal<Vec<ValidationError>>,
}

impl TaskRowState {
    pub fn new(draft: TaskDraft, touched: bool) -> TaskRowState {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        TaskRowState {
            key: NEXT.fetch_add(1, Ordering::Relaxed),
            draft: RwSignal::new(draft),
            touched: RwSignal::new(touched),
            save_errors: RwSignal::new(Vec::new()),
        }
    }

    /// Applies an edit: the row is touched, and what the last Save said of it is stale.
    fn edit(self, f: impl FnOnce(&mut TaskDraft)) {
        self.draft.update(f);
        self.touched.set(true);
        self.save_errors.update(|e| e.clear());
    }
}

/// The fields under "Options", in their closed box.
const OPTION_FIELDS: [&str; 4] = [
    "single_instance",
    "enabled",
    "execution_limit_hours",
    "task_parameters",
];

/// The instant previews count from when not now (provided as context by the preview
/// benchmark page, which checks fixed vectors against the server's answers).
#[derive(Clone, Copy)]
pub struct PreviewFrom(pub Instant);

/// The core's preview of a draft, from `after`.
pub fn check(draft: &TaskDraft, after: Instant) -> Result<Preview, Vec<ValidationError>> {
    let Value::Object(task) = draft.to_task() else {
        return Err(Vec::new());
    };
    preview_task(task, after, NEXT_RUNS)
}

/// A field's problems, by where the core says they are.
type Problems = Signal<Vec<ValidationError>>;

fn messages_of(problems: Problems, at: FieldOf) -> impl Fn() -> Vec<String> + Copy {
    move || {
        problems.with(|p| {
            p.iter()
                .filter(|e| field_of(&e.path) == at)
                .map(|e| match at {
                    FieldOf::Task if !e.path.is_empty() => format!("{}: {}", e.path, e.message),
                    _ => e.message.clone(),
                })
                .collect()
        })
    }
}

/// The message slot under an input.
fn field_msg(
    id: String,
    messages: impl Fn() -> Vec<String> + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <div class="field-msg" id=id aria-live="polite">
            {move || messages().into_iter().map(|m| view! { <p class="error">{m}</p> }).collect_view()}
        </div>
    }
}

/// A labelled text input bound to one field of the draft.
#[component]
fn TextField(
    row: TaskRowState,
    field: &'static str,
    label: &'static str,
    placeholder: &'static str,
    #[prop(default = "")] class: &'static str,
    #[prop(default = "text")] kind: &'static str,
    /// The class of the field's box.
    #[prop(default = "field")]
    wrap: &'static str,
    get: fn(&TaskDraft) -> &String,
    set: fn(&mut TaskDraft) -> &mut String,
    problems: Problems,
) -> impl IntoView {
    let id = format!("t{}-{field}", row.key);
    let msg_id = format!("{id}-msg");
    let messages = messages_of(problems, FieldOf::Field(field));
    view! {
        <div class=wrap>
            <label for=id.clone()>{label}</label>
            <input type=kind id=id class=class placeholder=placeholder aria-describedby=msg_id.clone()
                aria-invalid=move || (!messages().is_empty()).then_some("true")
                prop:value=move || row.draft.with(|d| get(d).clone())
                on:input=move |ev: Event| { let v = event_target_value(&ev); row.edit(|d| *set(d) = v) }/>
            {field_msg(msg_id, messages)}
        </div>
    }
}

#[component]
pub fn TaskRow(
    row: TaskRowState,
    /// The row's place in the form, from 0 ("Task 1").
    index: Signal<usize>,
    remove: Callback<usize>,
) -> impl IntoView {
    let key = row.key;
    let draft = row.draft;
    let from = use_context::<PreviewFrom>();
    let zones = expect_context::<Zones>();
    let checked = Memo::new(move |_| {
        let zone = draft.with(|d| d.timezone.trim().to_string());
        if !zones.ready(&zone) {
            return Live::ZoneLoading(zone);
        }
        let after = from.map_or_else(now, |f| f.0);
        Live::Checked(draft.with(|d| check(d, after)))
    });
    let problems: Problems = Signal::derive(move || {
        if !row.touched.get() {
            return Vec::new();
        }
        let mut all = checked.with(|c| match c {
            Live::Checked(Err(e)) => e.clone(),
            _ => Vec::new(),
        });
        all.extend(row.save_errors.get());
        all
    });
    // A problem with one of the options is not left hidden in their closed box: the box
    // opens (and is not closed again: it is the user's to close).
    let options = NodeRef::<leptos::html::Details>::new();
    Effect::new(move || {
        let inside = problems.with(|p| {
            p.iter().any(
                |e| matches!(field_of(&e.path), FieldOf::Field(f) if OPTION_FIELDS.contains(&f)),
            )
        });
        if let (true, Some(details)) = (inside, options.get()) {
            details.set_open(true);
        }
    });
    let rec = move || draft.with(|d| d.recurrence.clone());
    let id = move |suffix: &str| format!("t{key}-{suffix}");
    let time_count = move || draft.with(|d| d.times.len());
    let add_time = move |_| {
        row.edit(|d| d.times.push(String::new()));
        focus_id(format!("t{key}-time-{}", time_count() - 1));
    };
    let add_time_ref = NodeRef::<leptos::html::Button>::new();
    let text = |field, label, placeholder, class, get, set| {
        view! { <TextField row field label placeholder class get set problems/> }
    };
    view! {
        <fieldset class=move || format!("card task-row rec-{}", rec()) data-row=key>
            <legend>{move || format!("Task {}", index.get() + 1)}</legend>
            <div class="row-grid">
                {text("base_task_id", "Base Task ID", "aabbccddeeff00112233445566778899", "mono", |d| &d.base_task_id, |d| &mut d.base_task_id)}
                {text("destination_project", "Destination Project", "Scheduled/retrain", "", |d| &d.destination_project, |d| &mut d.destination_project)}
                {text("queue", "Queue", "default", "", |d| &d.queue, |d| &mut d.queue)}
                <div class="field">
                    <label for=id("recurrence")>"Recurrence"</label>
                    <select class="recurrence" id=id("recurrence") prop:value=rec
                        on:change=move |ev: Event| { let v = event_target_value(&ev); row.edit(|d| d.recurrence = v) }>
                        {RECURRENCES.iter().map(|(value, label)| view! {
                            <option value=*value selected=move || rec() == *value>{*label}</option>
                        }).collect_view()}
                    </select>
                    {field_msg(id("recurrence-msg"), messages_of(problems, FieldOf::Field("recurrence")))}
                </div>
                {text("timezone", "Time zone", "UTC", "", |d| &d.timezone, |d| &mut d.timezone)}
            </div>
            // Every recurrence's fields are in the row; its `rec-…` class shows the ones that
            // apply (styles.css), so switching keeps what was typed.
            <fieldset class="times">
                <legend>"Time of the Day (HH:MM)"</legend>
                <For each=move || 0..time_count() key=|i| *i let:i>
                    <TimeInput row i problems add_time=add_time_ref/>
                </For>
                <button type="button" class="small add-time" node_ref=add_time_ref on:click=add_time>"+ Add time"</button>
                {field_msg(id("times-msg"), messages_of(problems, FieldOf::Field("times")))}
            </fieldset>
            <TextField row field="date" label="Date" placeholder="" class="date" kind="date"
                wrap="field narrow only-none" get=|d| &d.date set=|d| &mut d.date problems/>
            <fieldset class="weekdays only-weekly">
                <legend>"Weekdays"</legend>
                {Weekday::ALL.into_iter().map(|w| view! {
                    <label class="check">
                        <input type="checkbox" class="weekday" value=w.name()
                            prop:checked=move || draft.with(|d| d.weekdays.contains(&w))
                            on:change=move |ev: Event| {
                                let ticked = event_target_checked(&ev);
                                row.edit(|d| {
                                    d.weekdays.retain(|x| *x != w);
                                    if ticked { d.weekdays.push(w) }
                                })
                            }/>
                        {&w.title()[..3]}
                    </label>
                }).collect_view()}
                {field_msg(id("weekdays-msg"), messages_of(problems, FieldOf::Field("weekdays")))}
            </fieldset>
            <div class="only-monthly">
                {text("days", "Days of the month (numbers, or \"last\")", "1, 15, last", "days", |d| &d.days, |d| &mut d.days)}
            </div>
            <div class="only-cron">
                {text("cron", "Cron expression (minute hour day month weekday)", "*/15 * * * *", "mono cron", |d| &d.cron, |d| &mut d.cron)}
            </div>
            <details class="options" node_ref=options>
                <summary>"Options: single instance, execution limit, task parameters"</summary>
                <div class="row-grid">
                    <div class="field">
                        <Check row field="single_instance" label="Single instance (skip a run while the previous one is still running)"
                            get=|d| d.single_instance set=|d, v| d.single_instance = v problems/>
                    </div>
                    <div class="field">
                        <Check row field="enabled" label="Enabled" get=|d| d.enabled set=|d, v| d.enabled = v problems/>
                    </div>
                    {text("execution_limit_hours", "Execution limit (hours)", "2.5", "", |d| &d.limit, |d| &mut d.limit)}
                    <div class="field wide">
                        <label for=id("task_parameters")>"Task parameters (one name=value a line)"</label>
                        <textarea rows="3" placeholder="Args/batch=12" id=id("task_parameters")
                            aria-describedby=id("task_parameters-msg")
                            prop:value=move || draft.with(|d| d.params.clone())
                            on:input=move |ev: Event| { let v = event_target_value(&ev); row.edit(|d| d.params = v) }>
                        </textarea>
                        {field_msg(id("task_parameters-msg"), messages_of(problems, FieldOf::Field("task_parameters")))}
                    </div>
                </div>
            </details>
            {field_msg(id("other-msg"), messages_of(problems, FieldOf::Task))}
            <div class="preview" aria-live="polite">
                {help(row.touched, checked)}
            </div>
            <div class="row-foot">
                <button type="button" class="small danger remove-item" on:click=move |_| remove.run(key)>"Remove item"</button>
            </div>
        </fieldset>
    }
}

/// A checkbox bound to one flag of the draft.
#[component]
fn Check(
    row: TaskRowState,
    field: &'static str,
    label: &'static str,
    get: fn(&TaskDraft) -> bool,
    set: fn(&mut TaskDraft, bool),
    problems: Problems,
) -> impl IntoView {
    let id = format!("t{}-{field}", row.key);
    view! {
        <label class="check">
            <input type="checkbox" id=id.clone() prop:checked=move || row.draft.with(get)
                on:change=move |ev: Event| { let ticked = event_target_checked(&ev); row.edit(|d| set(d, ticked)) }/>
            {label}
        </label>
        {field_msg(format!("{id}-msg"), messages_of(problems, FieldOf::Field(field)))}
    }
}

/// The `i`-th time of day of a row, with its remove button (off on a row's only time).
#[component]
fn TimeInput(
    row: TaskRowState,
    i: usize,
    problems: Problems,
    /// The row's "+ Add time", which takes the focus when this time's remove button goes.
    add_time: NodeRef<leptos::html::Button>,
) -> impl IntoView {
    let id = format!("t{}-time-{i}", row.key);
    let msg_id = format!("{id}-msg");
    let messages = messages_of(problems, FieldOf::Time(i));
    let only = move || row.draft.with(|d| d.times.len() <= 1);
    let remove = move |_| {
        row.edit(|d| {
            if i < d.times.len() {
                d.times.remove(i);
            }
        });
        // The focus was on the button just removed (the last time's, as the times shift
        // up): it stays in the row.
        request_animation_frame(move || {
            if let Some(b) = add_time.get_untracked() {
                let _ = b.focus();
            }
        });
    };
    view! {
        <div class="time">
            <label class="sr-only" for=id.clone()>{format!("Time {}", i + 1)}</label>
            <input type="text" class="time-input" inputmode="numeric" placeholder="06:20" size="6"
                id=id aria-describedby=msg_id.clone()
                aria-invalid=move || (!messages().is_empty()).then_some("true")
                prop:value=move || row.draft.with(|d| d.times.get(i).cloned().unwrap_or_default())
                on:input=move |ev: Event| {
                    let v = event_target_value(&ev);
                    row.edit(|d| if let Some(t) = d.times.get_mut(i) { *t = v })
                }/>
            <button type="button" class="small icon remove-time" aria-label="Remove this time"
                disabled=only on:click=remove>"×"</button>
            {field_msg(msg_id, messages)}
        </div>
    }
}

/// What the core says of a row as it is typed.
#[derive(Clone, PartialEq)]
enum Live {
    /// The row's time zone is on its way from the worker.
    ZoneLoading(String),
    Checked(Result<Preview, Vec<ValidationError>>),
}

/// The row's live help: what to do, or ClearML's form, the sentence and the next runs.
fn help(touched: RwSignal<bool>, checked: Memo<Live>) -> impl IntoView {
    move || {
        if !touched.get() {
            let text = "Fill in the row to see when it runs.".to_string();
            return EitherOf3::A(view! { <p class="muted">{text}</p> });
        }
        match checked.get() {
            Live::ZoneLoading(zone) => {
                let text = format!("Loading the time zone {zone}…");
                EitherOf3::A(view! { <p class="muted">{text}</p> })
            }
            Live::Checked(Err(_)) => EitherOf3::B(
                view! { <p class="muted">"Fix the fields above to see the next runs."</p> },
            ),
            Live::Checked(Ok(p)) => EitherOf3::C(view! {
                <p class="sentence">{p.description}</p>
                <p class="mono muted clearml">{p.clearml.join("; ")}</p>
                {(!p.next.is_empty()).then(|| view! {
                    <div class="next-runs">
                        <span class="muted">"Next runs: "</span>
                        <ol class="next">
                            {p.next.into_iter().map(|iso| view! { <li>{time(iso)}</li> }).collect_view()}
                        </ol>
                    </div>
                })}
            }),
        }
    }
}
