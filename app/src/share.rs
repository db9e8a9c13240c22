//! Share links: create, copy and revoke a read-only link and the embed code of the timeline.
//!
//! The new link's fields and the list of links are HTML text (see [`crate::html`]); one
//! listener on the panel serves their Copy and Revoke buttons.

use crate::api::{read, read_list, seg, Api, NewShare, ShareInfo};
use crate::html::{el, escape, muted, time};
use crate::util::{click_target, copy, dynv, focus, on};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

/// The app's read-only dashboard URL for a share token (hash route, served at `/`).
fn app_url(share: &NewShare, origin: &str) -> String {
    if share.url.contains("#/share/") && share.url.starts_with("http") {
        return share.url.clone();
    }
    format!("{origin}/#/share/{}", seg(&share.token))
}

fn absolute(url: &str, origin: &str) -> String {
    if url.starts_with("http") {
        url.to_string()
    } else {
        format!("{origin}{url}")
    }
}

/// A read-only text field with its label and a Copy button (`data-copy` names the field).
fn copy_field(out: &mut String, id: &str, label: &str, value: &str) {
    out.push_str(&format!(
        "<div class=\"field\"><label for=\"{id}\">{label}</label><div class=\"inline\"><input id=\"{id}\" type=\"text\" readonly value=\""
    ));
    escape(out, value);
    out.push_str(&format!(
        "\"><button class=\"small\" data-copy=\"{id}\">Copy</button></div></div>"
    ));
}

/// The link just made: the share URL and the `<img>` and `<iframe>` embed codes.
fn new_share_html(share: &NewShare, origin: &str) -> String {
    let svg = absolute(&share.embed_url, origin);
    let mut out = String::from("<div class=\"share-new\">");
    copy_field(
        &mut out,
        "share-url",
        "Share link (read-only dashboard)",
        &app_url(share, origin),
    );
    copy_field(
        &mut out,
        "embed-img",
        "Embed code (image)",
        &format!("<img src=\"{svg}\" alt=\"Task Scheduler timeline\">"),
    );
    copy_field(
        &mut out,
        "embed-iframe",
        "Embed code (iframe)",
        &format!("<iframe src=\"{svg}\" title=\"Task Scheduler timeline\" width=\"800\" height=\"300\"></iframe>"),
    );
    out.push_str("</div>");
    out
}

/// The instance's links, each with its Revoke button (`data-share` is the link's id).
fn shares_html(shares: &[ShareInfo]) -> String {
    if shares.is_empty() {
        return muted("", "No share links.");
    }
    let mut out = String::from("<ul class=\"shares\" id=\"shares\">");
    for s in shares {
        out.push_str("<li>");
        el(&mut out, "span", "mono", &format!("…{}", s.hint));
        out.push_str(" created ");
        time(&mut out, &s.created_at);
        out.push_str("<button class=\"small danger revoke\" data-share=\"");
        escape(&mut out, &s.id);
        out.push_str("\">Revoke</button></li>");
    }
    out.push_str("</ul>");
    out
}

#[component]
pub fn SharePanel(id: String) -> impl IntoView {
    let api = expect_context::<Api>();
    let id = StoredValue::new(id);
    let created = RwSignal::new(String::new());
    let list = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let origin = move || window().location().origin().unwrap_or_default();
    let reload = move || {
        spawn_local(async move {
            let answer = api.shares(&id.get_value()).await;
            match answer.and_then(|v| read_list::<ShareInfo>(v, "shares")) {
                Ok(s) => list.set(shares_html(&s)),
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    reload();
    let create = move |_| {
        spawn_local(async move {
            match api
                .create_share(&id.get_value())
                .await
                .and_then(read::<NewShare>)
            {
                Ok(s) => {
                    error.set(None);
                    created.set(new_share_html(&s, &origin()));
                    reload();
                    // The new link, ready to copy, takes the focus once it is on the page.
                    request_animation_frame(|| focus(document().get_element_by_id("share-url")));
                }
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    // Copy and Revoke, for every button in the HTML above.
    let clicked = move |ev: leptos::ev::MouseEvent| {
        let Some(button) = click_target(&ev, "button") else {
            return;
        };
        if let Some(field) = button.get_attribute("data-copy") {
            let Some(input) = document()
                .get_element_by_id(&field)
                .and_then(|f| f.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            spawn_local(async move {
                // Without clipboard access (plain http), the text is selected for the user to
                // copy.
                let label = if copy(&input.value()).await {
                    "Copied"
                } else {
                    input.select();
                    "Selected: press Ctrl+C"
                };
                button.set_text_content(Some(label));
            });
        } else if let Some(share) = button.get_attribute("data-share") {
            spawn_local(async move {
                match api.revoke_share(&id.get_value(), &share).await {
                    Ok(_) => {
                        created.set(String::new());
                        reload();
                        // The Revoke button is gone with its link.
                        request_animation_frame(|| {
                            focus(document().get_element_by_id("create-share"))
                        });
                    }
                    Err(e) => error.set(Some(e.message)),
                }
            })
        }
    };
    view! {
        <section class="card" aria-labelledby="share-title" on:click=on(clicked)>
            <div class="card-head">
                <h2 id="share-title">"Share"</h2>
                <button id="create-share" on:click=on(create)>"Create share link"</button>
            </div>
            <p class="muted">"Anyone with a share link sees this dashboard read-only, without signing in. Revoke a link to close it."</p>
            {dynv(move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> }))}
            <div inner_html=created></div>
            <div inner_html=list></div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_link_shows_its_url_and_embed_codes_escaped_in_copy_fields() {
        let share = NewShare {
            token: "tok".into(),
            url: "/share/tok".into(),
            embed_url: "/embed/tok/timeline.svg".into(),
        };
        let html = new_share_html(&share, "http://h");
        assert!(
            html.contains(
                r#"<input id="share-url" type="text" readonly value="http://h/#/share/tok">"#
            ),
            "{html}"
        );
        assert!(html.contains(r#"value="&lt;img src=&quot;http://h/embed/tok/timeline.svg&quot; alt=&quot;Task Scheduler timeline&quot;&gt;""#), "{html}");
        assert!(html.contains(r#"<button class="small" data-copy="embed-iframe">Copy</button>"#));
    }

    #[test]
    fn the_list_has_a_revoke_button_per_link() {
        let html = shares_html(&[ShareInfo {
            id: "h\"1".into(),
            hint: "abcd".into(),
            created_at: "2026-11-26T06:20:00Z".into(),
        }]);
        assert_eq!(
            html,
            concat!(
                r#"<ul class="shares" id="shares"><li><span class="mono">…abcd</span> created "#,
                r#"<time datetime="2026-11-26T06:20:00Z">2026-11-26 06:20 UTC</time>"#,
                r#"<button class="small danger revoke" data-share="h&quot;1">Revoke</button></li></ul>"#
            )
        );
        assert_eq!(shares_html(&[]), r#"<p class="muted">No share links.</p>"#);
    }
}
