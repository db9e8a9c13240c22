//! `GET /api/zones/{name}`: one IANA time zone as a TZif file, from the worker's bundled
//! database. The browser app fetches a zone the first time a form uses it (instead of
//! downloading the whole database with the app), so its previews use the worker's own data.
//!
//! A name that is not a zone answers 404 with the core's own message ("did you mean …"), which
//! the app shows as it is.

use scheduler_core::zone::{tzif_of, Zone};
use worker::Response;

use super::http::{Answer, ApiError};

/// `name` as it is in the path (`Etc/GMT%2B5` for `Etc/GMT+5`).
pub fn tzif(name: &str) -> Answer {
    let decoded = js_sys::decode_uri_component(name).map(String::from);
    let name = decoded.as_deref().unwrap_or(name);
    let unknown = |message: String| ApiError::new(404, "unknown_zone", message).field("timezone");
    Zone::get(name).map_err(unknown)?;
    let data = tzif_of(name).ok_or_else(|| {
        unknown(format!(
            "\"{}\" has no time zone data here; use a name like \"Europe/London\"",
            super::truncate(name, 60)
        ))
    })?;
    let mut resp = Response::from_bytes(data.to_vec())?;
    let headers = resp.headers_mut();
    headers.set("Content-Type", "application/octet-stream")?;
    // The data changes only with a deployment of a newer database.
    headers.set("Cache-Control", "public, max-age=86400")?;
    Ok(resp)
}
