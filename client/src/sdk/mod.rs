//! The Rust SDK (feature `http`): submit transactions, wait for their finality, and follow a
//! namespace, verifying every answer against the pinned genesis before returning it.
//!
//! A [`Client`] talks to one or more nodes' HTTP APIs. It prefers one node and moves to the next
//! when a node cannot be reached, refuses, or answers something that does not verify, so a
//! dead or lying node costs a retry, never a wrong answer.
//!
//! What each call proves (see `docs/LIGHT_CLIENT.md`):
//! - [`Client::wait_final`]: the header is certified by the chain's validators (directly, or
//!   through the history of a later certified header when the node serves a descendant's
//!   certificate), the namespace proof binds the namespace's transactions to the header, and the
//!   transaction at the stated position hashes to the hash asked for.
//! - [`Client::stream_namespace`]: each block yielded is certified and its namespace content
//!   (transactions, or the invalid-encoding verdict with its evidence) is proven; heights strictly
//!   increase, so a resumed stream has no duplicate. Completeness (that no block holding the
//!   namespace was skipped) rests on the nodes' streams; [`Client::namespace_range`] proves it
//!   height by height, with absence proofs.

pub mod bind;
mod bundles;
mod inbox;
mod json;
mod offline;
mod stream;
mod tx;

pub use bundles::BundleStatus;
pub use offline::{Verified, verify_document};

use crate::{LightClient, Trust, VerifiedHeader, VerifyError};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::Bytes;
use cortado_types::{Envelope, Hash, Header, Namespace, Transaction};
use json::{
    ErrorJson, HeaderJson, HistoryJson, NamespaceJson, SubmitJson, TransactionJson, hex_bytes,
    payloads,
};
use serde::Deserialize;
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

/// Largest JSON answer or SSE event the client reads (a namespace of a maximal block, hex and
/// base64 encoded, plus headers): 64 MiB.
pub const RESPONSE_BYTES_MAX: usize = 64 << 20;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// No node could be reached.
    #[error("no node answered (tried {tried}): {last}")]
    Unreachable {
        /// The nodes tried, comma-separated.
        tried: String,
        /// The last error.
        last: String,
    },
    /// A node refused the request with a JSON error.
    #[error("{url} refused ({status} {code}): {message}")]
    Refused {
        /// The node.
        url: String,
        /// HTTP status.
        status: u16,
        /// The error code.
        code: String,
        /// The node's message.
        message: String,
    },
    /// A node's answer does not have the documented shape.
    #[error("{url} sent a malformed answer: {what}")]
    Malformed {
        /// The node.
        url: String,
        /// What is wrong.
        what: String,
    },
    /// A node's answer does not verify: it is faulty or lying.
    #[error("{url} sent data that does not verify: {source}")]
    Verify {
        /// The node.
        url: String,
        /// What failed.
        source: VerifyError,
    },
    /// The transaction was not final in time.
    #[error("transaction {hash} not final after {after:?}")]
    Timeout {
        /// The transaction.
        hash: Hash,
        /// How long the client waited.
        after: Duration,
    },
}

/// A finalized transaction, verified.
#[derive(Clone, Debug)]
pub struct FinalTx {
    /// Its hash.
    pub hash: Hash,
    /// Its namespace.
    pub namespace: Namespace,
    /// Its payload.
    pub payload: Bytes,
    /// Height of the block holding it.
    pub height: u64,
    /// Its index in the block's transaction order.
    pub index: u32,
    /// Its position among its namespace's transactions in the block.
    pub position: u32,
    /// The verified header of the block.
    pub header: Header,
}

/// A cross-rollup message, verified: it stands in a finalized block of its source namespace.
#[derive(Clone, Debug)]
pub struct VerifiedMessage {
    /// The envelope.
    pub envelope: Envelope,
    /// Height of the block holding it.
    pub height: u64,
    /// Its transaction's index in that block.
    pub index: u32,
    /// Its transaction's hash.
    pub hash: Hash,
    /// The verified header of that block.
    pub header: Header,
}

/// What a block holds of a namespace, verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamespaceContent {
    /// The namespace's transactions, in block order.
    Transactions(Vec<Bytes>),
    /// The namespace's committed encoding is invalid: it counts as empty (evidence verified).
    InvalidEncoding,
    /// The block does not hold the namespace (absence proven).
    Absent,
}

/// One block's part of a namespace, verified.
#[derive(Clone, Debug)]
pub struct NamespaceBlock {
    /// The block height.
    pub height: u64,
    /// The verified header.
    pub header: Header,
    /// The namespace.
    pub namespace: Namespace,
    /// What the block holds of it.
    pub content: NamespaceContent,
}

/// Tuning of a [`Client`].
#[derive(Clone, Debug)]
pub struct Options {
    /// Per-request timeout (not applied to streams).
    pub request_timeout: Duration,
    /// Pause between polls of a pending transaction.
    pub poll_interval: Duration,
    /// Pause before reconnecting a broken stream, per consecutive failure (capped at 10×).
    pub reconnect_backoff: Duration,
    /// Consecutive failed reconnections after which a stream gives up with an error.
    pub reconnect_attempts: u32,
    /// Ask for and verify a finalized transaction's whole namespace (`?full=true`: re-encoded
    /// against its commitment, so no assumption on the block's encoding) instead of the compact
    /// O(log n) proof to the entry's `tx_root`, which holds unless the block's leader committed
    /// an invalid encoding (docs/LIGHT_CLIENT.md, "Compact transaction proofs").
    pub full_transaction_proofs: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(50),
            reconnect_backoff: Duration::from_millis(200),
            reconnect_attempts: 50,
            full_transaction_proofs: false,
        }
    }
}

struct Inner {
    urls: Vec<String>,
    preferred: AtomicUsize,
    http: reqwest::Client,
    light: Mutex<LightClient>,
    options: Options,
}

/// The future that parses and verifies one node's answer.
type Parsing<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, SdkError>> + Send + 'a>>;

/// A verifying client of one or more Cortado nodes. Cheap to clone.
#[derive(Clone)]
pub struct Client(Arc<Inner>);

impl Client {
    /// A client of the nodes at `urls` (e.g. `http://127.0.0.1:27100`), verifying against
    /// `trust`.
    ///
    /// Panics if `urls` is empty.
    pub fn new(trust: Trust, urls: Vec<String>, options: Options) -> Self {
        assert!(!urls.is_empty(), "a client needs at least one node URL");
        let http = reqwest::Client::builder()
            .connect_timeout(options.request_timeout)
            .build()
            .unwrap_or_default();
        Self(Arc::new(Inner {
            urls: urls
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            preferred: AtomicUsize::new(0),
            http,
            light: Mutex::new(LightClient::new(trust)),
            options,
        }))
    }

    /// The pinned trust.
    pub fn trust(&self) -> Trust {
        self.light().trust().clone()
    }

    /// The latest header this client verified with its own certificate, if any.
    pub fn latest(&self) -> Option<Header> {
        self.light().latest().map(|v| v.header().clone())
    }

    /// The verified header at `height`.
    pub async fn header(&self, height: u64) -> Result<VerifiedHeader, SdkError> {
        let http = &self.0.http;
        self.call(
            |url| http.get(format!("{url}/v1/headers/{height}")),
            move |url, response| {
                Box::pin(async move {
                    let url = url.as_str();
                    let json: HeaderJson = Self::json(url, response).await?;
                    self.verify_header(
                        url,
                        &hex_bytes(url, "header_bytes", &json.header_bytes)?,
                        &hex_bytes(url, "certificate_bytes", &json.certificate_bytes)?,
                    )
                    .await
                })
            },
        )
        .await
    }

    fn light(&self) -> std::sync::MutexGuard<'_, LightClient> {
        // A panic while holding the lock leaves the light client as it was: keep using it.
        self.0.light.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The node URLs, starting with the preferred one.
    fn rotation(&self) -> impl Iterator<Item = (usize, &str)> {
        let n = self.0.urls.len();
        let first = self.0.preferred.load(Ordering::Relaxed) % n;
        (0..n).map(move |i| {
            let at = (first + i) % n;
            (at, self.0.urls[at].as_str())
        })
    }

    /// Sends `request(url)` to the preferred node, then each other in turn, until one answers
    /// something `parse` accepts; remembers the one that did.
    async fn call<'a, T, F, P>(&'a self, request: F, parse: P) -> Result<T, SdkError>
    where
        F: Fn(&str) -> reqwest::RequestBuilder,
        P: Fn(String, reqwest::Response) -> Parsing<'a, T>,
    {
        let mut tried = Vec::new();
        let mut last = None;
        for (at, url) in self.rotation() {
            tried.push(url.to_string());
            let response = match request(url)
                .timeout(self.0.options.request_timeout)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    last = Some(SdkError::Unreachable {
                        tried: url.to_string(),
                        last: e.to_string(),
                    });
                    continue;
                }
            };
            match parse(url.to_string(), response).await {
                Ok(v) => {
                    self.0.preferred.store(at, Ordering::Relaxed);
                    return Ok(v);
                }
                // A validator that is not an API node serves no data (421 not_served): ask the
                // next node.
                Err(e @ SdkError::Refused { status: 421, .. }) => last = Some(e),
                // Any other refusal is the node's considered answer: another would say the same.
                Err(e @ SdkError::Refused { .. }) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(SdkError::Unreachable { last, .. }) => SdkError::Unreachable {
                tried: tried.join(", "),
                last,
            },
            Some(other) => other,
            None => SdkError::Unreachable {
                tried: tried.join(", "),
                last: "no node".into(),
            },
        })
    }

    /// Reads a JSON body (bounded), mapping error statuses to [`SdkError::Refused`].
    async fn json<T: for<'de> Deserialize<'de>>(
        url: &str,
        response: reqwest::Response,
    ) -> Result<T, SdkError> {
        let status = response.status();
        if response
            .content_length()
            .is_some_and(|l| l > RESPONSE_BYTES_MAX as u64)
        {
            return Err(SdkError::Malformed {
                url: url.to_string(),
                what: format!("answer exceeds {RESPONSE_BYTES_MAX} bytes"),
            });
        }
        let body = response.bytes().await.map_err(|e| SdkError::Unreachable {
            tried: url.to_string(),
            last: e.to_string(),
        })?;
        if !status.is_success() {
            let (code, message) = match serde_json::from_slice::<ErrorJson>(&body) {
                Ok(e) => (e.code, e.error),
                Err(_) => (
                    "unknown".to_string(),
                    String::from_utf8_lossy(&body).into_owned(),
                ),
            };
            return Err(SdkError::Refused {
                url: url.to_string(),
                status: status.as_u16(),
                code,
                message,
            });
        }
        serde_json::from_slice(&body).map_err(|e| SdkError::Malformed {
            url: url.to_string(),
            what: e.to_string(),
        })
    }

    /// Submits a transaction; returns its hash once a node holds it durably. The hash is
    /// checked against the one computed here.
    pub async fn submit(&self, namespace: Namespace, payload: &[u8]) -> Result<Hash, SdkError> {
        let expected = Transaction::hash_parts(namespace, payload);
        let body = serde_json::json!({
            "namespace": namespace.get(),
            "payload": STANDARD.encode(payload),
        });
        let http = &self.0.http;
        self.call(
            |url| http.post(format!("{url}/v1/transactions")).json(&body),
            move |url, response| {
                Box::pin(async move {
                    let url = url.as_str();
                    let answer: SubmitJson = Self::json(url, response).await?;
                    if answer.hash != expected.to_hex() {
                        return Err(SdkError::Malformed {
                            url: url.to_string(),
                            what: format!(
                                "returned hash {} for a transaction whose hash is {expected}",
                                answer.hash
                            ),
                        });
                    }
                    Ok(expected)
                })
            },
        )
        .await
    }

    /// Verifies a header and its certificate. When the certificate is a descendant's (the
    /// genesis block, or a block finalized only through a later one), proves the header through
    /// the history of the node's latest certified header instead.
    async fn verify_header(
        &self,
        url: &str,
        header_bytes: &[u8],
        certificate_bytes: &[u8],
    ) -> Result<VerifiedHeader, SdkError> {
        let trust = self.trust();
        match crate::verify_header(&trust, header_bytes, certificate_bytes) {
            Ok(verified) => {
                self.light().observe(verified.clone());
                Ok(verified)
            }
            Err(VerifyError::CertificateForAnotherHeader { height, .. }) => {
                self.prove_through_history(url, height, header_bytes).await
            }
            Err(source) => Err(SdkError::Verify {
                url: url.to_string(),
                source,
            }),
        }
    }

    /// Proves the header `header_bytes` at `height` (whose own certificate is not available)
    /// by its inclusion in the history of the node's latest header, verified with that
    /// header's own certificate.
    async fn prove_through_history(
        &self,
        url: &str,
        height: u64,
        header_bytes: &[u8],
    ) -> Result<VerifiedHeader, SdkError> {
        let http = &self.0.http;
        let answer: HistoryJson = Self::json(
            url,
            http.get(format!("{url}/v1/headers/{height}/proof?against=latest"))
                .timeout(self.0.options.request_timeout)
                .send()
                .await
                .map_err(|e| SdkError::Unreachable {
                    tried: url.to_string(),
                    last: e.to_string(),
                })?,
        )
        .await?;
        let verify = |source| SdkError::Verify {
            url: url.to_string(),
            source,
        };
        let trust = self.trust();
        let later = crate::verify_header(
            &trust,
            &hex_bytes(url, "later_header_bytes", &answer.later_header_bytes)?,
            &hex_bytes(
                url,
                "later_certificate_bytes",
                &answer.later_certificate_bytes,
            )?,
        )
        .map_err(verify)?;
        if hex_bytes(url, "header_bytes", &answer.header_bytes)? != header_bytes {
            return Err(SdkError::Malformed {
                url: url.to_string(),
                what: format!("the history proof is for another header at height {height}"),
            });
        }
        let proven = crate::verify_history(
            &trust,
            &later,
            header_bytes,
            &hex_bytes(url, "proof.bytes", &answer.proof.bytes)?,
        )
        .map_err(verify)?;
        self.light().observe(later);
        Ok(proven)
    }

    /// Verifies a namespace read or event.
    async fn verify_namespace_json(
        &self,
        url: &str,
        json: NamespaceJson,
    ) -> Result<NamespaceBlock, SdkError> {
        let header = self
            .verify_header(
                url,
                &hex_bytes(url, "header_bytes", &json.header_bytes)?,
                &hex_bytes(url, "certificate_bytes", &json.certificate_bytes)?,
            )
            .await?;
        if header.height() != json.height {
            return Err(SdkError::Malformed {
                url: url.to_string(),
                what: format!(
                    "height {} does not match the header's {}",
                    json.height,
                    header.height()
                ),
            });
        }
        let namespace = Namespace(json.namespace);
        let proof = hex_bytes(url, "proof.bytes", &json.proof.bytes)?;
        let trust = self.trust();
        let verified = header;
        let verify = |source| SdkError::Verify {
            url: url.to_string(),
            source,
        };
        let content = match json.status.as_str() {
            "valid" => {
                let payloads = payloads(url, &json.transactions)?;
                crate::verify_namespace(&trust, &verified, namespace, &proof, &payloads)
                    .map_err(verify)?;
                NamespaceContent::Transactions(payloads)
            }
            "invalid_encoding" => {
                let evidence = json.evidence.ok_or_else(|| SdkError::Malformed {
                    url: url.to_string(),
                    what: "an invalid_encoding answer without evidence".into(),
                })?;
                crate::verify_invalid_encoding(
                    &trust,
                    &verified,
                    namespace,
                    &proof,
                    &hex_bytes(url, "evidence.bytes", &evidence.bytes)?,
                )
                .map_err(verify)?;
                NamespaceContent::InvalidEncoding
            }
            "absent" => {
                crate::verify_absence(&trust, &verified, namespace, &proof).map_err(verify)?;
                NamespaceContent::Absent
            }
            other => {
                return Err(SdkError::Malformed {
                    url: url.to_string(),
                    what: format!("unknown status {other:?}"),
                });
            }
        };
        Ok(NamespaceBlock {
            height: verified.height(),
            header: verified.header().clone(),
            namespace,
            content,
        })
    }

    /// The status of `hash` on one node: `Some` once finalized and verified.
    async fn final_tx(&self, hash: Hash) -> Result<Option<FinalTx>, SdkError> {
        let http = &self.0.http;
        let result = self
            .call(
                |url| {
                    let full = if self.0.options.full_transaction_proofs {
                        "?full=true"
                    } else {
                        ""
                    };
                    http.get(format!("{url}/v1/transactions/{hash}{full}"))
                },
                move |url, response| {
                    Box::pin(async move {
                        let url = url.as_str();
                        let json: TransactionJson = Self::json(url, response).await?;
                        if json.status != "finalized" {
                            return Ok(None);
                        }
                        self.verify_tx_json(url, hash, json).await.map(Some)
                    })
                },
            )
            .await;
        match result {
            // Not known yet (not gossiped to that node): keep waiting.
            Err(SdkError::Refused { status: 404, .. }) => Ok(None),
            other => other,
        }
    }

    async fn verify_tx_json(
        &self,
        url: &str,
        hash: Hash,
        json: TransactionJson,
    ) -> Result<FinalTx, SdkError> {
        let missing = |field: &str| SdkError::Malformed {
            url: url.to_string(),
            what: format!("a finalized transaction without {field}"),
        };
        let height = json.height.ok_or_else(|| missing("height"))?;
        let index = json.index.ok_or_else(|| missing("index"))?;
        let header_bytes = json
            .header_bytes
            .as_deref()
            .ok_or_else(|| missing("header_bytes"))?;
        let certificate_bytes = json
            .certificate_bytes
            .as_deref()
            .ok_or_else(|| missing("certificate_bytes"))?;
        let header = self
            .verify_header(
                url,
                &hex_bytes(url, "header_bytes", header_bytes)?,
                &hex_bytes(url, "certificate_bytes", certificate_bytes)?,
            )
            .await?;
        if header.height() != height {
            return Err(missing("a height matching its header"));
        }
        if self.0.options.full_transaction_proofs && json.namespace_transactions.is_none() {
            return Err(missing("namespace_transactions (asked with ?full=true)"));
        }
        let checked = tx::check(&self.trust(), url, &header, hash, &json)?;
        let (namespace, position) = (checked.namespace, checked.position);
        // The index follows from the header and the position; the node's is only compared.
        let slot = bind::slot(header.header(), namespace, position);
        if slot != Some(index) {
            return Err(SdkError::Malformed {
                url: url.to_string(),
                what: format!(
                    "field `index` is {index}; the header's table puts position {position} of namespace {namespace} at {slot:?}"
                ),
            });
        }
        Ok(FinalTx {
            hash,
            namespace,
            payload: checked.payload,
            height,
            index,
            position,
            header: header.header().clone(),
        })
    }

    /// Waits until `hash` is final (on any node), verifies it, and returns it.
    pub async fn wait_final(&self, hash: Hash, timeout: Duration) -> Result<FinalTx, SdkError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(tx) = self.final_tx(hash).await? {
                return Ok(tx);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SdkError::Timeout {
                    hash,
                    after: timeout,
                });
            }
            tokio::time::sleep(self.0.options.poll_interval).await;
        }
    }

    /// Reads and verifies namespace `namespace` at every height in `from..=to`: the blocks
    /// that hold it with their content, and the absence proof of every other height, so the
    /// result is complete.
    pub async fn namespace_range(
        &self,
        namespace: Namespace,
        from: u64,
        to: u64,
    ) -> Result<Vec<NamespaceBlock>, SdkError> {
        let mut blocks = Vec::new();
        let http = &self.0.http;
        for height in from..=to {
            let block = self
                .call(
                    |url| http.get(format!("{url}/v1/namespaces/{namespace}/blocks/{height}")),
                    move |url, response| {
                        Box::pin(async move {
                            let url = url.as_str();
                            let json: NamespaceJson = Self::json(url, response).await?;
                            self.verify_namespace_json(url, json).await
                        })
                    },
                )
                .await?;
            blocks.push(block);
        }
        Ok(blocks)
    }
}
