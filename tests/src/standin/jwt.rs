//! HS256 JSON Web Tokens, the token format clearml-server issues from `auth.login`.
//!
//! The SDK decodes the token itself (pyjwt, without verifying the signature) to read
//! `api_version` and `server_version`, so the token must be a well-formed JWT, not an opaque string.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Encode `claims` as a compact HS256 JWT.
pub fn encode(claims: &Value, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let signing_input = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// Why a token was refused; the text is pyjwt's, which clearml-server puts in its 401/30 message.
#[derive(Debug, PartialEq, Eq)]
pub enum JwtError {
    Malformed(&'static str),
    BadSignature,
    Expired,
}

impl JwtError {
    pub fn reason(&self) -> &'static str {
        match self {
            JwtError::Malformed(r) => r,
            JwtError::BadSignature => "Signature verification failed",
            JwtError::Expired => "Signature has expired",
        }
    }
}

/// Verify signature and `exp` (against `now_secs`) and return the claims.
pub fn decode(token: &str, secret: &[u8], now_secs: u64) -> Result<Map<String, Value>, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("Not enough segments"));
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed("Invalid header padding"))?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(JwtError::Malformed(
            "The specified alg value is not allowed",
        ));
    }
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| JwtError::Malformed("Invalid crypto padding"))?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&sig).map_err(|_| JwtError::BadSignature)?;
    let claims: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed("Invalid payload string"))?;
    if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
        if exp <= now_secs {
            return Err(JwtError::Expired);
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_and_rejections() {
        let t = encode(&json!({"exp": 100, "api_version": "2.31"}), b"k");
        assert_eq!(decode(&t, b"k", 99).unwrap()["api_version"], "2.31");
        assert_eq!(decode(&t, b"k", 100), Err(JwtError::Expired));
        assert_eq!(decode(&t, b"other", 1), Err(JwtError::BadSignature));
        assert!(matches!(
            decode("abc", b"k", 1),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn verifies_the_rfc_style_reference_token() {
        // The jwt.io reference token (HS256, secret "your-256-bit-secret").
        let t = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        let claims = decode(t, b"your-256-bit-secret", 0).unwrap();
        assert_eq!(claims["name"], "John Doe");
    }
}
