//! The admin token check, random ids and tokens, and hashing.
//!
//! The admin token is the worker secret (or var) `ADMIN_TOKEN`; a request proves it knows it
//! with `Authorization: Bearer <token>`. Both sides are hashed with SHA-256 before a
//! constant-time comparison, so neither the length nor a prefix of the secret leaks through
//! timing. Without `ADMIN_TOKEN` every protected route answers 401: never open access.

use sha2::{Digest, Sha256};
use wasm_bindgen::JsCast;
use worker::{Env, Request};

use super::http::ApiError;

/// Checks the `Authorization` header against `ADMIN_TOKEN`.
pub fn require_admin(req: &Request, env: &Env) -> Result<(), ApiError> {
    let Some(expected) = admin_token(env) else {
        return Err(ApiError::new(
            401,
            "unauthorized",
            "this server has no ADMIN_TOKEN set, so nobody can sign in; set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN)",
        ));
    };
    let header = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    // The scheme is case-insensitive (RFC 9110): "bearer x" is a Bearer token too.
    let given = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, token)| token.trim());
    let Some(given) = given else {
        return Err(ApiError::new(
            401,
            "unauthorized",
            "send the admin token as \"Authorization: Bearer <token>\"",
        ));
    };
    if constant_time_eq(&sha256(given.as_bytes()), &sha256(expected.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::new(
            401,
            "unauthorized",
            "the admin token is wrong",
        ))
    }
}

fn admin_token(env: &Env) -> Option<String> {
    crate::settings::get(env, "ADMIN_TOKEN")
}

/// Equal-length byte strings compared without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// `n` bytes from the platform's CSPRNG (`crypto.getRandomValues`).
pub fn random_bytes(n: u32) -> Result<Vec<u8>, ApiError> {
    let fail = |_| ApiError::new(503, "unavailable", "no random numbers available");
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).map_err(fail)?;
    let get: js_sys::Function = js_sys::Reflect::get(&crypto, &"getRandomValues".into())
        .map_err(fail)?
        .dyn_into()
        .map_err(fail)?;
    let array = js_sys::Uint8Array::new_with_length(n);
    get.call1(&crypto, &array).map_err(fail)?;
    let bytes = array.to_vec();
    if bytes.len() != n as usize || bytes.iter().all(|b| *b == 0) {
        return Err(ApiError::new(
            503,
            "unavailable",
            "no random numbers available",
        ));
    }
    Ok(bytes)
}

/// A new instance id: 16 random bytes as 32 hex digits.
pub fn new_instance_id() -> Result<String, ApiError> {
    Ok(hex(&random_bytes(16)?))
}

/// A new share token (32 random bytes, 64 hex digits) and its hash (the KV key).
pub fn new_share_token() -> Result<(String, String), ApiError> {
    let token = hex(&random_bytes(32)?);
    let hash = hex(&sha256(token.as_bytes()));
    Ok((token, hash))
}

/// The hash of a share token as given in a URL, if it has the shape of one.
pub fn share_hash(token: &str) -> Option<String> {
    is_hex(token, 64).then(|| hex(&sha256(token.as_bytes())))
}

/// True for exactly `len` lowercase hex digits.
pub fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
