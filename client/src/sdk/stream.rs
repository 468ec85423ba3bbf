//! Following a namespace: a verified stream that resumes on another node without duplicates.

use super::{Client, NamespaceBlock, NamespaceJson, RESPONSE_BYTES_MAX, SdkError};
use crate::sse::{Events, SseError};
use cortado_types::Namespace;
use futures::Stream;
use std::sync::atomic::Ordering;

impl Client {
    /// Follows namespace `namespace` from height `from`: every finalized block holding it, in
    /// height order, each verified. On a dropped connection it resumes on the next node from
    /// the height after the last block yielded, so nothing is duplicated; it ends with an error
    /// after [`Options::reconnect_attempts`] consecutive failed attempts, or on data that does
    /// not verify from every node.
    pub fn stream_namespace(
        &self,
        namespace: Namespace,
        from: u64,
    ) -> impl Stream<Item = Result<NamespaceBlock, SdkError>> + Send + 'static {
        let state = Follow {
            client: self.clone(),
            namespace,
            next: from,
            events: None,
            failures: 0,
        };
        futures::stream::unfold(Some(state), |state| async move {
            let mut state = state?;
            match state.next_block().await {
                Ok(block) => Some((Ok(block), Some(state))),
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

/// The state of a namespace stream.
struct Follow {
    client: Client,
    namespace: Namespace,
    /// The lowest height not yet yielded.
    next: u64,
    /// The open stream and its node.
    events: Option<(String, Events)>,
    /// Consecutive failed attempts.
    failures: u32,
}

impl Follow {
    async fn connect(&mut self) -> Result<(), SdkError> {
        let n = self.client.0.urls.len();
        let at = self.client.0.preferred.load(Ordering::Relaxed) % n;
        let url = self.client.0.urls[at].clone();
        let response = self
            .client
            .0
            .http
            .get(format!(
                "{url}/v1/stream/namespaces/{}?from={}",
                self.namespace, self.next
            ))
            .header("accept", "text/event-stream")
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => {
                self.events = Some((url, Events::new(r, RESPONSE_BYTES_MAX)));
                Ok(())
            }
            Ok(r) => Err(Client::json::<serde_json::Value>(&url, r)
                .await
                .err()
                .unwrap_or_else(|| SdkError::Malformed {
                    url,
                    what: "a stream answered with a JSON body".into(),
                })),
            Err(e) => Err(SdkError::Unreachable {
                tried: url,
                last: e.to_string(),
            }),
        }
    }

    /// Moves to the next node after a failure; `Err` once too many failed in a row.
    async fn fail(&mut self, error: SdkError) -> Result<(), SdkError> {
        self.events = None;
        self.failures += 1;
        if self.failures >= self.client.0.options.reconnect_attempts {
            return Err(error);
        }
        let n = self.client.0.urls.len();
        self.client.0.preferred.fetch_add(1, Ordering::Relaxed);
        // Back off once a whole round of nodes has failed.
        if (self.failures as usize).is_multiple_of(n) {
            let factor = (self.failures / n as u32).min(10);
            tokio::time::sleep(self.client.0.options.reconnect_backoff * factor).await;
        }
        Ok(())
    }

    async fn next_block(&mut self) -> Result<NamespaceBlock, SdkError> {
        loop {
            if self.events.is_none()
                && let Err(e) = self.connect().await
            {
                self.fail(e).await?;
                continue;
            }
            let Some((url, events)) = self.events.as_mut() else {
                continue;
            };
            let url = url.clone();
            let event = match events.next().await {
                Ok(Some(event)) => event,
                Ok(None) => {
                    let e = SdkError::Unreachable {
                        tried: url,
                        last: "the stream ended".into(),
                    };
                    self.fail(e).await?;
                    continue;
                }
                Err(SseError::Broken(e)) => {
                    self.fail(SdkError::Unreachable {
                        tried: url,
                        last: e,
                    })
                    .await?;
                    continue;
                }
                Err(e @ SseError::TooLarge(_)) => {
                    self.fail(SdkError::Malformed {
                        url,
                        what: e.to_string(),
                    })
                    .await?;
                    continue;
                }
            };
            if event.event != "namespace_block" {
                let e = SdkError::Malformed {
                    url,
                    what: format!("stream sent a {:?} event: {}", event.event, event.data),
                };
                self.fail(e).await?;
                continue;
            }
            let json: NamespaceJson = match serde_json::from_str(&event.data) {
                Ok(json) => json,
                Err(e) => {
                    self.fail(SdkError::Malformed {
                        url,
                        what: e.to_string(),
                    })
                    .await?;
                    continue;
                }
            };
            if json.height < self.next {
                continue; // already yielded (a node replaying after a resume)
            }
            if json.namespace != self.namespace.get() {
                let e = SdkError::Malformed {
                    url,
                    what: format!(
                        "stream of namespace {} sent {}",
                        self.namespace, json.namespace
                    ),
                };
                self.fail(e).await?;
                continue;
            }
            match self.client.verify_namespace_json(&url, json).await {
                Ok(block) => {
                    self.failures = 0;
                    self.next = block.height + 1;
                    return Ok(block);
                }
                Err(e) => {
                    self.fail(e).await?;
                    continue;
                }
            }
        }
    }
}
