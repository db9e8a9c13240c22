//! auth.login, server.info and debug.ping.

use serde_json::{json, Value};

use super::{Ctx, Req};
use crate::standin::api::{ApiError, MAX_API_VERSION, SERVER_VERSION};
use crate::standin::clock::unix_secs;
use crate::standin::jwt;
use crate::standin::model::{new_id, State, COMPANY_ID, USER_ID, USER_NAME};

/// clearml-server's `apiserver.auth.default_expiration_sec` (30 days).
pub const DEFAULT_EXPIRATION_SEC: u64 = 2_592_000;

/// Issue a token for the (already authenticated) caller.
pub fn login(state: &mut State, req: &Req, ctx: &Ctx) -> Result<Value, ApiError> {
    let expiration = match req.raw().get("expiration_sec") {
        None | Some(Value::Null) => DEFAULT_EXPIRATION_SEC,
        Some(v) => match v.as_u64() {
            Some(0) => DEFAULT_EXPIRATION_SEC,
            Some(n) => n,
            None => return Err(ApiError::field_type("expiration_sec", "int")),
        },
    };
    let iat = unix_secs(ctx.now);
    let claims = json!({
        "identity": {
            "user": USER_ID,
            "company": COMPANY_ID,
            "role": "user",
            "user_name": USER_NAME,
            "company_name": "clearml",
        },
        "entities": {},
        "iat": iat,
        "exp": iat + expiration,
        "env": "standin",
        "session_id": new_id(),
        "api_version": MAX_API_VERSION,
        "server_version": SERVER_VERSION,
        "server_build": "standin",
        "feature_set": "basic",
        "standin_epoch": state.token_epoch,
    });
    Ok(json!({"token": jwt::encode(&claims, ctx.token_secret)}))
}

pub fn ping(req: &Req) -> Result<Value, ApiError> {
    let mut res = serde_json::Map::new();
    res.insert("msg".into(), json!("ClearML server"));
    for (k, v) in req.raw() {
        res.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(res))
}

pub fn server_info(ctx: &Ctx) -> Result<Value, ApiError> {
    let mut v = json!({
        "version": SERVER_VERSION,
        "build": "standin",
        "commit": "standin",
        "uid": "5ca1ab1e-0000-4000-8000-000000000000",
    });
    if super::parse_version(ctx.requested_version) >= Some((2, 12)) {
        v["api_version"] = json!(MAX_API_VERSION);
    }
    Ok(v)
}
