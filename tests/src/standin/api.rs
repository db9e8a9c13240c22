//! The clearml-server response envelope and its error catalogue.
//!
//! Every answer, success or failure, is `{"meta": {...}, "data": {...}}` and the HTTP status equals
//! `meta.result_code`. Error messages are built the way clearml-server's `BaseError` builds them:
//! `"<default message> (<extra>): key=value, key=(a, b)"`, so a client that greps messages sees the
//! same text it would see from the real server. `error_data` stays `{}` for endpoint errors, as the
//! real `ServiceRepo.handle_call` does not pass it on.

use serde_json::{json, Map, Value};

/// The API version the stand-in claims (clearml-server 2.0's `ServiceRepo._max_version`).
pub const MAX_API_VERSION: &str = "2.31";
/// The server version the stand-in claims in tokens and `server.info`.
pub const SERVER_VERSION: &str = "2.0.0";

/// A failed call: code/subcode pairs follow clearml-server's `apierrors/errors.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    pub subcode: u32,
    pub msg: String,
}

/// A key=value detail of an error message; lists render as `(a, b)` like the server's `_format_kwarg`.
pub enum Kw<'a> {
    S(&'a str, &'a str),
    L(&'a str, &'a [String]),
}

impl ApiError {
    fn build(code: u16, subcode: u32, default: &str, extra: Option<&str>, kwargs: &[Kw]) -> Self {
        let mut msg = default.to_string();
        if let Some(extra) = extra {
            msg.push_str(&format!(" ({extra})"));
        }
        if !kwargs.is_empty() {
            let parts: Vec<String> = kwargs
                .iter()
                .map(|kw| match kw {
                    Kw::S(k, v) => format!("{k}={v}"),
                    Kw::L(k, v) => format!("{k}=({})", v.join(", ")),
                })
                .collect();
            msg.push_str(": ");
            msg.push_str(&parts.join(", "));
        }
        ApiError { code, subcode, msg }
    }

    /// 400/0: a request the server could not even parse (bad path, undecodable JSON).
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ApiError {
            code: 400,
            subcode: 0,
            msg: msg.into(),
        }
    }

    /// 404/0: no endpoint with this name at this version.
    pub fn endpoint_not_found(name: &str, version: &str) -> Self {
        ApiError {
            code: 404,
            subcode: 0,
            msg: format!("Unable to find endpoint for name {name} and version {version}"),
        }
    }

    /// 400/11, raised by endpoints registered with `required_fields` (e.g. projects.create).
    pub fn missing_required_fields(missing: &[String]) -> Self {
        Self::build(
            400,
            11,
            "missing required fields",
            None,
            &[Kw::L("missing", missing)],
        )
    }

    /// 400/12 with a free-form detail.
    pub fn validation(extra: &str) -> Self {
        Self::build(400, 12, "validation error", Some(extra), &[])
    }

    /// 400/12 exactly as jsonmodels reports a missing required request field.
    pub fn field_required(field: &str) -> Self {
        Self::validation(&format!("error for field '{field}'. field is required!"))
    }

    /// 400/12 for a request field of the wrong JSON type.
    pub fn field_type(field: &str, expected: &str) -> Self {
        Self::validation(&format!(
            "error for field '{field}'. value is not of type {expected}"
        ))
    }

    pub fn fields_value(extra: &str, kwargs: &[Kw]) -> Self {
        Self::build(400, 16, "invalid value for fields", Some(extra), kwargs)
    }

    pub fn invalid_regex(pattern: &str) -> Self {
        Self::build(
            400,
            21,
            "malformed regular expression",
            None,
            &[Kw::S("pattern", pattern)],
        )
    }

    pub fn invalid_task_id(extra: Option<&str>, kwargs: &[Kw]) -> Self {
        Self::build(400, 101, "invalid task id", extra, kwargs)
    }

    pub fn invalid_task_status(extra: Option<&str>, kwargs: &[Kw]) -> Self {
        Self::build(400, 110, "invalid task status", extra, kwargs)
    }

    pub fn task_cannot_be_deleted(extra: Option<&str>, kwargs: &[Kw]) -> Self {
        Self::build(400, 123, "task cannot be deleted", extra, kwargs)
    }

    pub fn invalid_project_id(id: &str) -> Self {
        Self::build(400, 401, "invalid project id", None, &[Kw::S("id", id)])
    }

    pub fn invalid_project_name(name: &str) -> Self {
        Self::build(
            400,
            407,
            "invalid project name",
            None,
            &[Kw::S("name", name)],
        )
    }

    pub fn invalid_queue_id(id: &str, company: &str) -> Self {
        Self::build(
            400,
            701,
            "invalid queue id",
            None,
            &[Kw::S("id", id), Kw::S("company", company)],
        )
    }

    pub fn invalid_queue_or_task_not_queued(task: &str, queue: &str, company: &str) -> Self {
        Self::build(
            400,
            703,
            "invalid queue id or task not in queue",
            None,
            &[
                Kw::S("task", task),
                Kw::S("id", queue),
                Kw::S("company", company),
            ],
        )
    }

    pub fn task_already_queued(task: &str) -> Self {
        Self::build(
            400,
            706,
            "failed adding task to queue since task is already queued",
            None,
            &[Kw::S("task", task)],
        )
    }

    pub fn no_default_queue() -> Self {
        Self::build(
            400,
            707,
            "no queue is tagged as the default queue for this company",
            None,
            &[],
        )
    }

    pub fn expected_unique_data(replacement: &str, kwargs: &[Kw]) -> Self {
        Self::build(400, 801, replacement, None, kwargs)
    }

    pub fn bad_auth_type() -> Self {
        Self::build(
            401,
            10,
            "unauthorized (bad authentication header type)",
            None,
            &[],
        )
    }

    pub fn no_credentials() -> Self {
        Self::build(401, 20, "unauthorized (missing credentials)", None, &[])
    }

    pub fn bad_credentials(extra: &str) -> Self {
        Self::build(
            401,
            21,
            "unauthorized (malformed credentials)",
            Some(extra),
            &[],
        )
    }

    pub fn invalid_credentials() -> Self {
        Self::build(
            401,
            22,
            "unauthorized (invalid credentials)",
            Some("failed to locate provided credentials"),
            &[],
        )
    }

    pub fn invalid_token(extra: &str, reason: Option<&str>) -> Self {
        match reason {
            Some(r) => Self::build(401, 30, "invalid token", Some(extra), &[Kw::S("reason", r)]),
            None => Self::build(401, 30, "invalid token", Some(extra), &[]),
        }
    }

    /// 500/0, the code an unhandled server exception gets.
    pub fn server_error(msg: impl Into<String>) -> Self {
        ApiError {
            code: 500,
            subcode: 0,
            msg: msg.into(),
        }
    }
}

/// What the envelope's `meta` says about the call.
#[derive(Debug, Clone)]
pub struct CallMeta {
    pub id: String,
    pub trx: String,
    pub endpoint: String,
    pub requested_version: Option<String>,
    pub actual_version: Option<String>,
}

/// Build the full envelope for a result.
pub fn envelope(meta: &CallMeta, result: &Result<Value, ApiError>) -> Value {
    let (code, subcode, msg, data) = match result {
        Ok(data) => (200, 0, "OK".to_string(), data.clone()),
        Err(e) => (e.code, e.subcode, e.msg.clone(), Value::Object(Map::new())),
    };
    json!({
        "meta": {
            "id": meta.id,
            "trx": meta.trx,
            "endpoint": {
                "name": meta.endpoint,
                "requested_version": meta.requested_version,
                "actual_version": meta.actual_version,
            },
            "result_code": code,
            "result_subcode": subcode,
            "result_msg": msg,
            "error_stack": null,
            "error_data": {},
        },
        "data": data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_base_error_format() {
        assert_eq!(
            ApiError::invalid_queue_id("q", "c").msg,
            "invalid queue id: id=q, company=c"
        );
        assert_eq!(
            ApiError::missing_required_fields(&["name".into()]).msg,
            "missing required fields: missing=(name)"
        );
        assert_eq!(
            ApiError::field_required("task").msg,
            "validation error (error for field 'task'. field is required!)"
        );
        assert_eq!(
            ApiError::invalid_task_status(
                Some("Invalid status change"),
                &[
                    Kw::S("current_status", "in_progress"),
                    Kw::S("new_status", "queued")
                ]
            )
            .msg,
            "invalid task status (Invalid status change): current_status=in_progress, new_status=queued"
        );
    }
}
