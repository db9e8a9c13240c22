//! A minimal ClearML API client for tests: log in once, then call endpoints and get
//! `(http status, envelope)` back without any retry logic hiding what the server said.

use serde_json::{json, Value};

/// One answer: the HTTP status and the whole envelope.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// `(result_code, result_subcode)` from the envelope.
    pub fn codes(&self) -> (u64, u64) {
        let m = &self.body["meta"];
        (
            m["result_code"].as_u64().unwrap_or(0),
            m["result_subcode"].as_u64().unwrap_or(0),
        )
    }

    pub fn msg(&self) -> &str {
        self.body["meta"]["result_msg"].as_str().unwrap_or("")
    }
}

pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Client {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            token: None,
        }
    }

    /// auth.login with HTTP Basic credentials; stores the token.
    pub async fn login(&mut self, key: &str, secret: &str) -> anyhow::Result<Answer> {
        let resp = self
            .http
            .post(format!("{}/auth.login", self.base))
            .basic_auth(key, Some(secret))
            .json(&json!({}))
            .send()
            .await?;
        let a = Self::answer(resp).await?;
        if let Some(t) = a.data()["token"].as_str() {
            self.token = Some(t.to_string());
        }
        Ok(a)
    }

    /// POST `{base}/{path}` with `body` and the stored Bearer token (if any).
    pub async fn call(&self, path: &str, body: Value) -> anyhow::Result<Answer> {
        let mut req = self.http.post(format!("{}/{path}", self.base)).json(&body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        Self::answer(req.send().await?).await
    }

    async fn answer(resp: reqwest::Response) -> anyhow::Result<Answer> {
        let status = resp.status().as_u16();
        let body: Value = resp.json().await?;
        Ok(Answer { status, body })
    }
}
