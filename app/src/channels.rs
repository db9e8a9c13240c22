//! The instance form's notification channels. Each is a core [`ChannelDraft`] in a signal; its
//! inputs read from it and write back, its problems are the core's (by path), and "Send test"
//! asks the server to send the saved channel a test message and shows what the receiver said.
//!
//! URLs and signing secrets are write-only: a saved channel shows their hints as placeholders,
//! and an empty input keeps the stored value.

use crate::api::Api;
use crate::util::spawn_in_view;
use leptos::ev::Event;
use leptos::prelude::*;
use scheduler_core::channels::ChannelDraft;
use scheduler_core::notify::EventKind;
use scheduler_core::ValidationError;

/// One channel of the form.
#[derive(Clone, Copy)]
pub struct ChannelRowState {
    /// Stable for the row's life (ids of its inputs: `c3-url`).
    pub key: usize,
    pub draft: RwSignal<ChannelDraft>,
    /// What the last "Send test" found.
    pub test: RwSignal<Option<(bool, String)>>,
    /// The row's problems from the last Save or Export, paths relative to the channel; cleared
    /// by an edit of the row. The row's own (not found by its position in the list), so they stay
    /// with it when a channel above is removed.
    pub save_errors: RwSignal<Vec<ValidationError>>,
}

impl ChannelRowState {
    pub fn new(draft: ChannelDraft) -> ChannelRowState {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        ChannelRowState {
            key: NEXT.fetch_add(1, Ordering::Relaxed),
            draft: RwSignal::new(draft),
            test: RwSignal::new(None),
            save_errors: RwSignal::new(Vec::new()),
        }
    }

    /// Changes the draft; the problems found before no longer hold.
    fn edit(self, f: impl FnOnce(&mut ChannelDraft)) {
        self.draft.update(f);
        if self.save_errors.with_untracked(|e| !e.is_empty()) {
            self.save_errors.set(Vec::new());
        }
    }
}

/// Hands each channel its problems among `errors` (by their path), relative to the channel.
pub fn show_channel_problems(channels: &[ChannelRowState], errors: &[ValidationError]) {
    for (i, row) in channels.iter().enumerate() {
        let prefix = channel_path(i);
        let mine: Vec<ValidationError> = errors
            .iter()
            .filter_map(|e| {
                let rest = e.path.strip_prefix(&prefix)?;
                (rest.is_empty() || rest.starts_with('.')).then(|| ValidationError {
                    path: rest.trim_start_matches('.').to_string(),
                    message: e.message.clone(),
                })
            })
            .collect();
        row.save_errors.set(mine);
    }
}

/// The path prefix of channel `i`'s problems.
pub fn channel_path(i: usize) -> String {
    format!("notifications.channels[{i}]")
}

#[component]
pub fn ChannelsSection(
    channels: RwSignal<Vec<ChannelRowState>>,
    /// The instance being edited (Send test needs it saved).
    instance: StoredValue<Option<String>>,
    /// Whether the form has its configuration (a channel added before would be replaced by it).
    loaded: Signal<bool>,
) -> impl IntoView {
    let add = move |_| channels.update(|cs| cs.push(ChannelRowState::new(ChannelDraft::default())));
    let remove = Callback::new(move |key: usize| {
        channels.update(|cs| cs.retain(|c| c.key != key));
        crate::util::focus_id("add-channel");
    });
    view! {
        <section class="card" aria-labelledby="channels-title" id="channels">
            <h2 id="channels-title">"Notifications"</h2>
            <p class="muted">"Where failed launches, missed slots, failed or stuck runs and recoveries are told. \
                URLs and signing secrets are write-only: leave them empty to keep what is saved."</p>
            <For each=move || channels.get() key=|c| c.key let:row>
                <ChannelRow row instance remove
                    index=Signal::derive(move || channels.with(|cs| cs.iter().position(|c| c.key == row.key).unwrap_or(0)))/>
            </For>
            <button type="button" class="add" id="add-channel" on:click=add disabled=move || !loaded.get()>"+ Add channel"</button>
        </section>
    }
}

#[component]
fn ChannelRow(
    row: ChannelRowState,
    index: Signal<usize>,
    instance: StoredValue<Option<String>>,
    remove: Callback<usize>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let key = row.key;
    let draft = row.draft;
    let id = move |field: &str| format!("c{key}-{field}");
    let mine = move || {
        row.save_errors.with(|p| {
            p.iter()
                .map(|e| match e.path.as_str() {
                    "" => e.message.clone(),
                    path => format!("{path}: {}", e.message),
                })
                .collect::<Vec<_>>()
        })
    };
    let webhook = move || draft.with(|d| d.kind == "webhook");
    let url_placeholder = move || {
        draft.with(|d| match &d.url_hint {
            Some(h) => format!("saved: {h} (leave empty to keep)"),
            None if d.kind == "slack" => "https://hooks.slack.com/services/…".to_string(),
            None => "https://ops.example.com/clearml".to_string(),
        })
    };
    let secret_placeholder = move || {
        draft.with(|d| match &d.signing_secret_hint {
            Some(h) => format!("saved: {h} (leave empty to keep)"),
            None => "at least 16 random characters (openssl rand -hex 32)".to_string(),
        })
    };
    let send_test = move |_| {
        let Some(instance) = instance.get_value() else {
            row.test.set(Some((
                false,
                "Save the instance first: a test goes to the saved channel.".into(),
            )));
            return;
        };
        let channel = draft.with_untracked(|d| d.id.trim().to_string());
        row.test.set(Some((true, "Sending…".into())));
        spawn_in_view(async move {
            row.test
                .set(Some(match api.test_channel(&instance, &channel).await {
                    Ok(t) if t.delivered => (
                        true,
                        format!(
                            "Delivered: the receiver answered HTTP {} in {} ms.",
                            t.status.unwrap_or_default(),
                            t.elapsed_ms
                        ),
                    ),
                    Ok(t) => (
                        false,
                        format!("Not delivered: {}.", t.error.unwrap_or_default()),
                    ),
                    Err(e) if e.status == 404 => (
                        false,
                        "This channel is not saved yet: save the form, then send a test.".into(),
                    ),
                    Err(e) => (false, e.message),
                }));
        });
    };
    view! {
        <fieldset class="card channel" id=id("row")>
            <legend>{move || format!("Channel {}", index.get() + 1)}</legend>
            <div class="row-grid">
                <div class="field narrow">
                    <label for=id("id")>"Channel ID"</label>
                    <input type="text" id=id("id") placeholder="ops" aria-describedby=id("msg")
                        prop:value=move || draft.with(|d| d.id.clone())
                        on:input=move |ev: Event| { let v = event_target_value(&ev); row.edit(|d| d.id = v) }/>
                </div>
                <div class="field narrow">
                    <label for=id("type")>"Type"</label>
                    <select id=id("type") prop:value=move || draft.with(|d| d.kind.clone())
                        on:change=move |ev: Event| { let v = event_target_value(&ev); row.edit(|d| d.kind = v) }>
                        <option value="webhook">"Webhook (signed JSON)"</option>
                        <option value="slack">"Slack incoming webhook"</option>
                    </select>
                </div>
                <div class="field">
                    <label for=id("url")>"URL"</label>
                    <input type="url" id=id("url") autocomplete="off" placeholder=url_placeholder aria-describedby=id("msg")
                        prop:value=move || draft.with(|d| d.url.clone())
                        on:input=move |ev: Event| { let v = event_target_value(&ev); row.edit(|d| d.url = v) }/>
                </div>
                {move || webhook().then(|| view! {
                    <div class="field">
                        <label for=id("signing_secret")>"Signing secret"</label>
                        <input type="password" id=id("signing_secret") autocomplete="new-password" placeholder=secret_placeholder
                            aria-describedby=id("msg")
                            prop:value=move || draft.with(|d| d.signing_secret.clone())
                            on:input=move |ev: Event| { let v = event_target_value(&ev); row.edit(|d| d.signing_secret = v) }/>
                    </div>
                })}
            </div>
            <fieldset class="events">
                <legend>"Events"</legend>
                {EventKind::ALL.into_iter().map(|k| view! {
                    <label class="check">
                        <input type="checkbox" id=id(&format!("event-{}", k.name()))
                            prop:checked=move || draft.with(|d| d.events.contains(&k))
                            on:change=move |ev: Event| {
                                let on = event_target_checked(&ev);
                                row.edit(|d| {
                                    d.events.retain(|e| *e != k);
                                    if on { d.events.push(k); }
                                    d.events.sort();
                                });
                            }/>
                        {k.label()}
                    </label>
                }).collect_view()}
            </fieldset>
            <div class="field-msg" id=id("msg") aria-live="polite">
                {move || mine().into_iter().map(|m| view! { <p class="error">{m}</p> }).collect_view()}
            </div>
            <div class="actions">
                <button type="button" id=id("test") on:click=send_test>"Send test"</button>
                <button type="button" class="danger" id=id("remove") on:click=move |_| remove.run(key)>"Remove channel"</button>
            </div>
            {move || row.test.get().map(|(ok, text)| view! {
                <p class=if ok { "status-line" } else { "status-line error" } role="status" id=id("test-result")>{text}</p>
            })}
        </fieldset>
    }
}
