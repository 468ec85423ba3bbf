//! A small HTTP client for a node's API (JSON and SSE).

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use futures::StreamExt;
use serde_json::Value;

/// Talks to one node.
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for `url` (e.g. `http://127.0.0.1:27100`).
    pub fn new(url: &str) -> Self {
        Self {
            base: url.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn json(&self, response: reqwest::Response) -> Result<Value> {
        let status = response.status();
        let body: Value = response.json().await.with_context(|| {
            format!(
                "{} answered {status} with a body that is not JSON",
                self.base
            )
        })?;
        if !status.is_success() {
            bail!(
                "{} answered {status}: {}",
                self.base,
                body["error"].as_str().unwrap_or("(no message)")
            );
        }
        Ok(body)
    }

    fn unreachable(&self, e: reqwest::Error) -> anyhow::Error {
        anyhow!(
            "cannot reach {}: {e} (is the node running? start one with `cortado dev`)",
            self.base
        )
    }

    /// Submits a transaction; returns its hash.
    pub async fn submit(&self, namespace: u64, payload: &[u8]) -> Result<String> {
        let body = serde_json::json!({
            "namespace": namespace,
            "payload": base64::engine::general_purpose::STANDARD.encode(payload),
        });
        let response = self
            .http
            .post(format!("{}/v1/transactions", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.hash_of(response).await
    }

    /// Submits the payload as the raw request body (no base64, no JSON: what a load generator
    /// uses); returns the hash.
    pub async fn submit_raw(&self, namespace: u64, payload: Vec<u8>) -> Result<String> {
        let response = self
            .http
            .post(format!(
                "{}/v1/transactions?namespace={namespace}",
                self.base
            ))
            .header("content-type", "application/octet-stream")
            .body(payload)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.hash_of(response).await
    }

    /// The `hash` of a submission's answer.
    async fn hash_of(&self, response: reqwest::Response) -> Result<String> {
        let v = self.json(response).await?;
        v["hash"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("response has no hash: {v}"))
    }

    /// A transaction's status (404 is an error).
    pub async fn transaction(&self, hash: &str) -> Result<Value> {
        let response = self
            .http
            .get(format!("{}/v1/transactions/{hash}", self.base))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.json(response).await
    }

    /// The node's status.
    pub async fn status(&self) -> Result<Value> {
        let response = self
            .http
            .get(format!("{}/v1/status", self.base))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.json(response).await
    }

    /// Opens the SSE stream of a namespace.
    pub async fn stream_namespace(&self, namespace: u64, from: Option<u64>) -> Result<Events> {
        self.stream_namespace_with(namespace, from, true).await
    }

    /// [`Self::stream_namespace`]; without `payloads`, events carry transaction hashes only.
    pub async fn stream_namespace_with(
        &self,
        namespace: u64,
        from: Option<u64>,
        payloads: bool,
    ) -> Result<Events> {
        let mut url = format!("{}/v1/stream/namespaces/{namespace}", self.base);
        let mut query = Vec::new();
        if let Some(from) = from {
            query.push(format!("from={from}"));
        }
        if !payloads {
            query.push("payloads=false".to_string());
        }
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        let response = self
            .http
            .get(url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if !response.status().is_success() {
            let v = self.json(response).await?;
            bail!("stream refused: {v}");
        }
        Ok(Events {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        })
    }
}

type ByteStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// Server-sent events, decoded as JSON.
pub struct Events {
    body: ByteStream,
    buffer: String,
}

impl Events {
    /// The next event's data, or `None` when the stream ends.
    pub async fn next(&mut self) -> Result<Option<Value>> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let data: Vec<&str> = frame
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|d| d.strip_prefix(' ').unwrap_or(d))
                    .collect();
                if data.is_empty() {
                    continue; // a keep-alive comment or an id-only frame
                }
                let json = data.join("\n");
                return Ok(Some(
                    serde_json::from_str(&json).context("event is not JSON")?,
                ));
            }
            match self.body.next().await {
                Some(chunk) => {
                    let chunk = chunk.context("stream broke")?;
                    self.buffer
                        .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
                }
                None => return Ok(None),
            }
        }
    }
}

/// One line saying whether a node (its `/v1/status`) is at the tip or catching up.
pub fn sync_line(status: &Value) -> String {
    let height = status["height"].as_u64().unwrap_or(0);
    let sync = &status["sync"];
    if sync["state"] != "syncing" {
        return format!("synced at height {height}");
    }
    let eta = match sync["eta_s"].as_f64() {
        Some(s) => format!("~{s:.0} s to the tip"),
        None => "not gaining on the chain yet".into(),
    };
    format!(
        "syncing: height {height} of {} ({} behind), {:.0} blocks/s (chain {:.1} blocks/s), {eta}",
        sync["tip"],
        sync["behind"],
        sync["rate_blocks_per_s"].as_f64().unwrap_or(0.0),
        sync["chain_rate_blocks_per_s"].as_f64().unwrap_or(0.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_line_says_synced_or_how_far() {
        let synced = serde_json::json!({"height": 7, "sync": {"state": "synced"}});
        assert_eq!(sync_line(&synced), "synced at height 7");
        let syncing = serde_json::json!({"height": 100, "sync": {"state": "syncing", "tip": 900,
            "behind": 800, "rate_blocks_per_s": 150.4, "chain_rate_blocks_per_s": 10.0, "eta_s": 5.7}});
        assert_eq!(
            sync_line(&syncing),
            "syncing: height 100 of 900 (800 behind), 150 blocks/s (chain 10.0 blocks/s), ~6 s to the tip"
        );
    }
}
