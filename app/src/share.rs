//! Share links: create, copy and revoke a read-only link and the embed code of the timeline.

use crate::api::Api;
use crate::util::{copy, focus_id, spawn_in_view, time, ViewTasks};
use leptos::either::EitherOf3;
use leptos::html;
use leptos::prelude::*;
use scheduler_core::api::{NewShare, ShareInfo};
use scheduler_core::markup::Markup;

fn absolute(url: &str, origin: &str) -> String {
    if url.starts_with("http") {
        url.to_string()
    } else {
        format!("{origin}{url}")
    }
}

/// The link just made: the share URL and the `<img>` and `<iframe>` embed codes, each with
/// what to paste where.
fn embed_codes(share: &NewShare, origin: &str) -> [(&'static str, &'static str, String); 3] {
    let svg = absolute(&share.embed_url, origin);
    [
        (
            "share-url",
            "Share link (read-only dashboard)",
            absolute(&share.url, origin),
        ),
        (
            "embed-img",
            "Embed code (image)",
            Markup::default()
                .lit("<img src=\"")
                .text(&svg)
                .lit("\" alt=\"Task Scheduler timeline\">")
                .as_str()
                .to_owned(),
        ),
        (
            "embed-iframe",
            "Embed code (iframe)",
            Markup::default()
                .lit("<iframe src=\"")
                .text(&svg)
                .lit("\" title=\"Task Scheduler timeline\" width=\"800\" height=\"300\"></iframe>")
                .as_str()
                .to_owned(),
        ),
    ]
}

#[component]
pub fn SharePanel(id: String) -> impl IntoView {
    let api = expect_context::<Api>();
    let id = StoredValue::new(id);
    let list = LocalResource::new(move || {
        api.track_sign_in();
        async move { api.shares(&id.get_value()).await }
    });
    // The links, and what the list shows: a refetch that changes neither touches no DOM, and
    // the keyed rows of a kept list are added or removed one by one.
    let shares = Memo::new(move |_| {
        list.with(|l| match l {
            Some(Ok(l)) => l.shares.clone(),
            _ => Vec::new(),
        })
    });
    let shown = Memo::new(move |_| {
        list.with(|l| match l {
            None => None,
            Some(Err(e)) => Some(Err(e.message.clone())),
            Some(Ok(l)) => Some(Ok(!l.shares.is_empty())),
        })
    });
    let created = RwSignal::new(None::<NewShare>);
    let error = RwSignal::new(None::<String>);
    let tasks = ViewTasks::here();
    // One request at a time: a double click makes one link.
    let create = move |_| {
        tasks.spawn_alone(async move {
            match api.create_share(&id.get_value()).await {
                Ok(s) => {
                    error.set(None);
                    created.set(Some(s));
                    list.refetch();
                    // The new link, ready to copy, takes the focus once it is on the page.
                    focus_id("share-url");
                }
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    let revoke = Callback::new(move |share: String| {
        tasks.spawn_alone(async move {
            match api.revoke_share(&id.get_value(), &share).await {
                Ok(_) => {
                    // The codes of the link just made stay, unless that is the one revoked.
                    if created.with_untracked(|c| c.as_ref().is_some_and(|c| c.id == share)) {
                        created.set(None);
                    }
                    list.refetch();
                    // The Revoke button is gone with its link.
                    focus_id("create-share");
                }
                Err(e) => error.set(Some(e.message)),
            }
        })
    });
    let origin = window().location().origin().unwrap_or_default();
    view! {
        <section class="card" aria-labelledby="share-title">
            <div class="card-head">
                <h2 id="share-title">"Share"</h2>
                <button id="create-share" on:click=create>"Create share link"</button>
            </div>
            <p class="muted">"Anyone with a share link sees this dashboard read-only, without signing in. Revoke a link to close it."</p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || created.get().map(|s| view! {
                <div class="share-new">
                    {embed_codes(&s, &origin).into_iter().map(|(id, label, value)| view! { <CopyField id label value/> }).collect_view()}
                </div>
            })}
            {move || match shown.get() {
                None => None,
                Some(Err(e)) => Some(EitherOf3::A(view! { <p class="error" role="alert">{e}</p> })),
                Some(Ok(false)) => Some(EitherOf3::B(view! { <p class="muted">"No share links."</p> })),
                Some(Ok(true)) => Some(EitherOf3::C(view! {
                    <ul class="shares" id="shares">
                        <For each=move || shares.get() key=|s| s.id.clone() children=move |share| share_item(share, revoke)/>
                    </ul>
                })),
            }}
        </section>
    }
}

fn share_item(share: ShareInfo, revoke: Callback<String>) -> impl IntoView {
    let id = share.id;
    view! {
        <li>
            <span class="mono">{format!("…{}", share.hint)}</span>
            " created "
            {time(share.created_at)}
            <button class="small danger revoke" on:click=move |_| revoke.run(id.clone())>"Revoke"</button>
        </li>
    }
}

/// A read-only text field with its label and a Copy button. Without clipboard access (plain
/// http), the text is selected for the user to copy.
#[component]
fn CopyField(id: &'static str, label: &'static str, value: String) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    let said = RwSignal::new("Copy");
    let text = value.clone();
    let copy_it = move |_| {
        let text = text.clone();
        spawn_in_view(async move {
            if copy(&text).await {
                said.set("Copied");
            } else {
                if let Some(i) = input.get_untracked() {
                    i.select();
                }
                said.set("Selected: press Ctrl+C");
            }
        });
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <div class="inline">
                <input id=id type="text" readonly value=value node_ref=input/>
                <button class="small" data-copy=id on:click=copy_it>{move || said.get()}</button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_link_gives_its_url_and_embed_codes_with_absolute_addresses() {
        let share = NewShare {
            id: "h".into(),
            token: "tok".into(),
            hint: "tok".into(),
            created_at: "2026-11-26T06:20:00Z".into(),
            url: "/#/share/tok".into(),
            api_url: "/api/share/tok".into(),
            embed_url: "/embed/tok/timeline.svg".into(),
        };
        let codes = embed_codes(&share, "http://h");
        assert_eq!(codes[0].2, "http://h/#/share/tok");
        assert_eq!(
            codes[1].2,
            r#"<img src="http://h/embed/tok/timeline.svg" alt="Task Scheduler timeline">"#
        );
        assert!(codes[2]
            .2
            .starts_with(r#"<iframe src="http://h/embed/tok/timeline.svg""#));
    }
}
