//! The endpoints: a registry (name, registered version, auth) and one module per service.

use std::time::SystemTime;

use serde_json::{Map, Value};

use super::api::ApiError;
use super::clock::iso;
use super::model::State;

pub mod auth;
pub mod projects;
pub mod queues;
pub mod tasks;
pub mod workers;

/// How an endpoint treats the Authorization header (clearml-server's `authorize` flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Required,
    /// `authorize: false`: the header is not even looked at.
    None,
}

/// A registered endpoint version (`min_version` is what `meta.endpoint.actual_version` shows).
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub name: &'static str,
    pub min_version: &'static str,
    pub auth: AuthMode,
}

const fn ep(name: &'static str, min_version: &'static str) -> Endpoint {
    Endpoint {
        name,
        min_version,
        auth: AuthMode::Required,
    }
}

/// Every endpoint the stand-in serves, with the `min_version` clearml-server registers it at.
/// An endpoint with several registered versions is listed once per version.
const ENDPOINTS: &[Endpoint] = &[
    ep("auth.login", "1.0"),
    Endpoint {
        name: "debug.ping",
        min_version: "1.0",
        auth: AuthMode::None,
    },
    Endpoint {
        name: "server.info",
        min_version: "1.0",
        auth: AuthMode::None,
    },
    Endpoint {
        name: "server.info",
        min_version: "2.8",
        auth: AuthMode::None,
    },
    Endpoint {
        name: "server.info",
        min_version: "2.12",
        auth: AuthMode::None,
    },
    ep("projects.get_all", "1.0"),
    ep("projects.get_by_id", "1.0"),
    ep("projects.create", "1.0"),
    ep("queues.get_all", "2.4"),
    ep("queues.get_by_id", "2.4"),
    ep("queues.get_default", "2.4"),
    ep("queues.create", "2.4"),
    ep("queues.remove_task", "2.4"),
    ep("tasks.get_by_id", "1.0"),
    ep("tasks.get_all", "1.0"),
    ep("tasks.clone", "1.0"),
    ep("tasks.enqueue", "1.0"),
    ep("tasks.dequeue", "1.0"),
    ep("tasks.delete", "1.0"),
    ep("tasks.started", "1.0"),
    ep("tasks.stop", "1.0"),
    ep("tasks.stopped", "1.0"),
    ep("tasks.failed", "1.0"),
    ep("tasks.completed", "2.2"),
    ep("tasks.edit_hyper_params", "1.0"),
    ep("workers.get_all", "2.4"),
];

/// `"2.23"` as a comparable pair.
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.').unwrap_or((v, "0"));
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The newest registered version of `name` not newer than `requested`.
pub fn lookup(name: &str, requested: &str) -> Option<Endpoint> {
    let req = parse_version(requested)?;
    ENDPOINTS
        .iter()
        .filter(|e| e.name == name)
        .filter(|e| parse_version(e.min_version).is_some_and(|v| v <= req))
        .max_by_key(|e| parse_version(e.min_version))
        .copied()
}

/// Per-call context handed to endpoint implementations.
pub struct Ctx<'a> {
    pub now: SystemTime,
    pub now_iso: String,
    pub requested_version: &'a str,
    pub token_secret: &'a [u8],
}

impl Ctx<'_> {
    pub fn new<'a>(requested_version: &'a str, token_secret: &'a [u8]) -> Ctx<'a> {
        let now = SystemTime::now();
        Ctx {
            now,
            now_iso: iso(now),
            requested_version,
            token_secret,
        }
    }
}

/// Run an authorised call.
pub fn dispatch(
    name: &str,
    state: &mut State,
    data: &Map<String, Value>,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    let req = Req(data);
    match name {
        "auth.login" => auth::login(state, &req, ctx),
        "debug.ping" => auth::ping(&req),
        "server.info" => auth::server_info(ctx),
        "projects.get_all" => projects::get_all(state, &req),
        "projects.get_by_id" => projects::get_by_id(state, &req),
        "projects.create" => projects::create(state, &req),
        "queues.get_all" => queues::get_all(state, &req),
        "queues.get_by_id" => queues::get_by_id(state, &req),
        "queues.get_default" => queues::get_default(state),
        "queues.create" => queues::create(state, &req, ctx),
        "queues.remove_task" => queues::remove_task(state, &req, ctx),
        "tasks.get_by_id" => tasks::get_by_id(state, &req),
        "tasks.get_all" => tasks::get_all(state, &req),
        "tasks.clone" => tasks::clone(state, &req, ctx),
        "tasks.enqueue" => tasks::enqueue(state, &req, ctx),
        "tasks.dequeue" => tasks::dequeue(state, &req, ctx),
        "tasks.delete" => tasks::delete(state, &req, ctx),
        "tasks.started" => tasks::set_status(state, &req, ctx, "started"),
        "tasks.stop" => tasks::stop(state, &req, ctx),
        "tasks.stopped" => tasks::set_status(state, &req, ctx, "stopped"),
        "tasks.failed" => tasks::set_status(state, &req, ctx, "failed"),
        "tasks.completed" => tasks::set_status(state, &req, ctx, "completed"),
        "tasks.edit_hyper_params" => tasks::edit_hyper_params(state, &req, ctx),
        "workers.get_all" => workers::get_all(state, &req, ctx),
        other => Err(ApiError::server_error(format!(
            "endpoint {other} is registered but not implemented"
        ))),
    }
}

/// Typed access to request fields with clearml-server's validation errors.
pub struct Req<'a>(pub &'a Map<String, Value>);

impl Req<'_> {
    pub fn raw(&self) -> &Map<String, Value> {
        self.0
    }

    fn present(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    /// A required string field (400/12 "field is required!" when absent, as jsonmodels says).
    pub fn required_str(&self, field: &str) -> Result<String, ApiError> {
        self.opt_str(field)?
            .ok_or_else(|| ApiError::field_required(field))
    }

    pub fn opt_str(&self, field: &str) -> Result<Option<String>, ApiError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::field_type(field, "string")),
        }
    }

    pub fn opt_bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::field_type(field, "bool")),
        }
    }

    pub fn bool_or(&self, field: &str, default: bool) -> Result<bool, ApiError> {
        Ok(self.opt_bool(field)?.unwrap_or(default))
    }

    pub fn opt_str_list(&self, field: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| ApiError::field_type(field, "list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(ApiError::field_type(field, "list")),
        }
    }

    pub fn opt_object(&self, field: &str) -> Result<Option<Map<String, Value>>, ApiError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(_) => Err(ApiError::field_type(field, "dict")),
        }
    }

    pub fn opt_list(&self, field: &str) -> Result<Option<Vec<Value>>, ApiError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(_) => Err(ApiError::field_type(field, "list")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_picks_newest_registered_version() {
        assert_eq!(lookup("server.info", "2.31").unwrap().min_version, "2.12");
        assert_eq!(lookup("server.info", "2.9").unwrap().min_version, "2.8");
        assert_eq!(lookup("tasks.clone", "2.23").unwrap().min_version, "1.0");
        assert!(lookup("queues.get_all", "2.1").is_none());
        assert!(lookup("tasks.nope", "2.31").is_none());
    }
}
