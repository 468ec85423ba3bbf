//! Cross-rollup messages through the SDK: send one, read a sender's stream, each message
//! verified (certificate, source namespace proof, position, sender signature).

use super::json::{InboxJson, hex_bytes, payloads};
use super::{Client, SdkError, VerifiedMessage};
use cortado_types::{Address, Envelope, Hash, Namespace, Transaction};
use futures::Stream;

impl Client {
    /// Sends a cross-rollup message: submits its envelope as a transaction of its source
    /// namespace. Returns the transaction hash.
    pub async fn send_message(&self, envelope: &Envelope) -> Result<Hash, SdkError> {
        use commonware_codec::Encode;
        self.submit(envelope.source, &envelope.encode()).await
    }

    /// One page of the messages of `sender` on `source` to `destination` (sequence numbers count
    /// per sender) from sequence `from_sequence`, each
    /// verified: its block's header and certificate, the source namespace's proof over the
    /// block's namespace transactions, and the envelope at the stated position. Returns the
    /// messages in sequence order (gaps possible: compare sequence numbers) and whether the
    /// page was full (more may follow at once).
    pub async fn inbox_page(
        &self,
        destination: Namespace,
        source: Namespace,
        sender: &Address,
        from_sequence: u64,
    ) -> Result<(Vec<VerifiedMessage>, bool), SdkError> {
        let http = &self.0.http;
        let sender_hex = hex::encode(sender.as_bytes());
        self.call(
            |url| {
                http.get(format!(
                    "{url}/v1/namespaces/{destination}/inbox/{source}/{sender_hex}?from_seq={from_sequence}"
                ))
            },
            move |url, response| {
                Box::pin(async move {
                    let url = url.as_str();
                    let json: InboxJson = Self::json(url, response).await?;
                    let full = json.next.is_some();
                    let messages = self.verify_inbox(url, destination, json).await?;
                    if messages.iter().any(|m| {
                        m.envelope.source != source
                            || m.envelope.sender != *sender
                            || m.envelope.sequence < from_sequence
                    })
                        || messages.windows(2).any(|w| w[0].envelope.sequence >= w[1].envelope.sequence)
                    {
                        return Err(SdkError::Malformed {
                            url: url.to_string(),
                            what: "inbox page out of order or of another source".into(),
                        });
                    }
                    Ok((messages, full))
                })
            },
        )
        .await
    }

    async fn verify_inbox(
        &self,
        url: &str,
        destination: Namespace,
        json: InboxJson,
    ) -> Result<Vec<VerifiedMessage>, SdkError> {
        let malformed = |what: String| SdkError::Malformed {
            url: url.to_string(),
            what,
        };
        if json.destination != destination.get() {
            return Err(malformed(format!(
                "inbox of {} answered for {destination}",
                json.destination
            )));
        }
        let trust = self.trust();
        let mut blocks = Vec::with_capacity(json.blocks.len());
        for b in &json.blocks {
            let header = self
                .verify_header(
                    url,
                    &hex_bytes(url, "header_bytes", &b.header_bytes)?,
                    &hex_bytes(url, "certificate_bytes", &b.certificate_bytes)?,
                )
                .await?;
            if header.height() != b.height {
                return Err(malformed(
                    "a proof block's height differs from its header's".into(),
                ));
            }
            let payloads = payloads(url, &b.namespace_transactions)?;
            crate::verify_namespace(
                &trust,
                &header,
                Namespace(b.source),
                &hex_bytes(url, "namespace_proof.bytes", &b.namespace_proof.bytes)?,
                &payloads,
            )
            .map_err(|source| SdkError::Verify {
                url: url.to_string(),
                source,
            })?;
            blocks.push((header, payloads));
        }
        let mut out = Vec::with_capacity(json.messages.len());
        for m in &json.messages {
            let (header, payloads) = blocks
                .get(m.block)
                .ok_or_else(|| malformed(format!("message names proof block {}", m.block)))?;
            let source = Namespace(json.blocks[m.block].source);
            let payload = payloads
                .get(m.position as usize)
                .ok_or_else(|| malformed("a message position outside its namespace".into()))?;
            // Decodes, was posted in its source, and its sender signed it on this chain.
            let envelope =
                Envelope::from_transaction(trust.chain_id, source, payload).map_err(|e| {
                    malformed(format!(
                        "the transaction at the position is not a message: {e}"
                    ))
                })?;
            let hash = Transaction::hash_parts(source, payload);
            let slot = super::bind::slot(header.header(), source, m.position);
            if envelope.destination != destination
                || slot != Some(m.index)
                || envelope.source.get() != m.source
                || envelope.sequence != m.sequence
                || header.height() != m.height
                || hash.to_hex() != m.hash
            {
                return Err(malformed(format!(
                    "message {} of source {} does not match the transaction that proves it",
                    m.sequence, m.source
                )));
            }
            out.push(VerifiedMessage {
                envelope,
                height: m.height,
                index: m.index,
                hash,
                header: header.header().clone(),
            });
        }
        Ok(out)
    }

    /// Follows `source`'s messages to `destination` from sequence `from_sequence`, each verified
    /// (see [`Client::inbox_page`]), polling every [`Options::poll_interval`] once caught up.
    /// Sequence numbers strictly increase; a gap (a number never finalized) is yielded as it is,
    /// for the caller's [`crate::Receiver`] to judge.
    pub fn inbox(
        &self,
        destination: Namespace,
        source: Namespace,
        sender: Address,
        from_sequence: u64,
    ) -> impl Stream<Item = Result<VerifiedMessage, SdkError>> + Send + 'static {
        let client = self.clone();
        let state = (
            client,
            from_sequence,
            std::collections::VecDeque::new(),
            0u32,
        );
        futures::stream::unfold(Some(state), move |state| {
            async move {
                let (client, mut next, mut buffer, mut failures) = state?;
                loop {
                    if let Some(m) = buffer.pop_front() {
                        let m: VerifiedMessage = m;
                        next = m.envelope.sequence.saturating_add(1);
                        return Some((Ok(m), Some((client, next, buffer, failures))));
                    }
                    match client.inbox_page(destination, source, &sender, next).await {
                        Ok((page, _full)) => {
                            failures = 0;
                            // Caught up: wait before asking again.
                            if page.is_empty() {
                                tokio::time::sleep(client.0.options.poll_interval).await;
                            }
                            buffer.extend(page);
                        }
                        Err(e) => {
                            failures += 1;
                            if failures >= client.0.options.reconnect_attempts {
                                return Some((Err(e), None));
                            }
                            tokio::time::sleep(client.0.options.reconnect_backoff).await;
                        }
                    }
                }
            }
        })
    }
}
