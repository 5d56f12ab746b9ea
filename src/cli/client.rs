//! The command line's client for a running server: one bearer token, JSON in and out, and
//! downloads streamed to a file.

use clap::Args;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::Path;

/// Where the server is and how to sign in.
#[derive(Debug, Args)]
pub(super) struct ServerArgs {
    /// The server's base URL (plain HTTP).
    #[arg(long, env = "CLEARANCE_URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// A bearer token (admin for `token`; auditor or admin for `audit` and `policy`).
    #[arg(long, env = "CLEARANCE_TOKEN", hide_env_values = true)]
    token: String,
}

/// A signed-in client.
pub(super) struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub fn new(args: &ServerArgs) -> Self {
        Self {
            http: crate::connect::http_client(),
            base: args.server.trim_end_matches('/').to_owned(),
            token: args.token.clone(),
        }
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path` with `query`, as JSON.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, String> {
        let request = self.http.get(self.url(path)).query(query);
        json(self.send(request, path).await?, path).await
    }

    /// `POST path` with a JSON body, as JSON.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, String> {
        let request = self.http.post(self.url(path)).json(body);
        json(self.send(request, path).await?, path).await
    }

    /// `DELETE path`, as JSON.
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let request = self.http.delete(self.url(path));
        json(self.send(request, path).await?, path).await
    }

    /// `GET path` with `query`, written to `out` chunk by chunk; returns the bytes written.
    pub async fn download(
        &self,
        path: &str,
        query: &[(&str, String)],
        out: &Path,
    ) -> Result<u64, String> {
        let request = self.http.get(self.url(path)).query(query);
        let mut response = self.send(request, path).await?;
        let mut file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let mut written = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("{path}: the download broke off: {e}"))?
        {
            file.write_all(&chunk)
                .map_err(|e| format!("{}: {e}", out.display()))?;
            written += u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        }
        file.sync_all()
            .map_err(|e| format!("{}: {e}", out.display()))?;
        Ok(written)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends; an answer other than 2xx becomes its error message.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<reqwest::Response, String> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("{}: {e}", self.base))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let text = |v: &serde_json::Value, at: &str| {
            v.pointer(at)
                .and_then(|m| m.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let mut message = format!("{path}: {status}: {}", text(&body, "/error/message"));
        let details = body.pointer("/error/details").and_then(|d| d.as_array());
        for d in details.into_iter().flatten() {
            message.push_str(&format!("\n  {}", text(d, "/message")));
        }
        Err(message)
    }
}

async fn json<T: DeserializeOwned>(response: reqwest::Response, path: &str) -> Result<T, String> {
    response
        .json()
        .await
        .map_err(|e| format!("{path}: unexpected answer: {e}"))
}

/// A runtime for one command.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}
