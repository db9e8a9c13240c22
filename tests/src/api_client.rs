//! A small client for the worker's `/api`, for end-to-end tests.

use anyhow::{Context, Result};
use serde_json::Value;

pub struct Api {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Api {
        Api {
            base: base.to_string(),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// Sends `method path` with an optional JSON body and the admin token: (status, JSON or Null).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("request {path}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        let (status, body) = self.send(reqwest::Method::GET, path, None).await?;
        anyhow::ensure!(status == 200, "GET {path} answered {status}: {body}");
        Ok(body)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let (status, answer) = self.send(reqwest::Method::POST, path, Some(body)).await?;
        anyhow::ensure!(
            (200..300).contains(&status),
            "POST {path} answered {status}: {answer}"
        );
        Ok(answer)
    }

    /// `PUT /api/instances/{id}` with `config` (an edit), expecting it saved: the answer.
    pub async fn replace(&self, id: &str, config: &Value) -> Result<Value> {
        let path = format!("/api/instances/{id}");
        let (status, answer) = self.send(reqwest::Method::PUT, &path, Some(config)).await?;
        anyhow::ensure!(status == 200, "PUT {path} answered {status}: {answer}");
        Ok(answer)
    }

    /// `POST /api/instances` with `config`: the new instance's id.
    pub async fn create(&self, config: &Value) -> Result<String> {
        let made = self.post("/api/instances", config).await?;
        made["id"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("no id in {made}"))
    }
}
