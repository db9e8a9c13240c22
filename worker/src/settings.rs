//! The deployment's settings: each read as a secret first (`wrangler secret put`), then as a
//! plain var (wrangler.toml `[vars]`, `--var`), so a value can be either without the code
//! caring which. One lookup for every setting.

use worker::Env;

/// The setting `name`, unless unset or blank. Not trimmed: a token is compared as it is.
pub fn get(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|v| !v.trim().is_empty())
}
