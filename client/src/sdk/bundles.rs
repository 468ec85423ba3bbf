//! Atomic bundles through the SDK: submit one, and learn from the chain whether it was
//! finalized whole, every part verified (certificates, namespace proofs, the bundle's marker).

use super::{Client, FinalTx, NamespaceContent, SdkError};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use cortado_types::{BUNDLE_NAMESPACE, Bundle, Hash, Marker};
use serde::Deserialize;
use std::time::Duration;

/// What the chain says of a bundle, verified.
#[derive(Clone, Debug)]
pub enum BundleStatus {
    /// The bundle's marker and every member were first finalized in the block at `height`.
    Finalized {
        /// The block holding them.
        height: u64,
        /// The members, in bundle order, each verified in that block.
        members: Vec<FinalTx>,
    },
    /// The bundle can never be finalized whole: `member` was first finalized at `height`, in
    /// a block without the bundle's marker (proven by that block's namespace proof), or the
    /// marker was first finalized elsewhere.
    Failed {
        /// The member finalized without the bundle.
        member: Hash,
        /// Where it was.
        height: u64,
        /// What was checked.
        reason: String,
    },
    /// No member is finalized yet.
    Pending,
}

#[derive(Deserialize)]
struct BundleSubmitJson {
    hash: String,
}

impl Client {
    /// Submits a bundle; returns its hash (its marker's transaction hash) once a node holds it
    /// durably. The hash is checked against the one computed here.
    pub async fn submit_bundle(&self, bundle: &Bundle) -> Result<Hash, SdkError> {
        let expected = bundle.hash();
        let body = serde_json::json!({
            "transactions": bundle
                .transactions()
                .iter()
                .map(|tx| serde_json::json!({
                    "namespace": tx.namespace.get(),
                    "payload": STANDARD.encode(&tx.payload),
                }))
                .collect::<Vec<_>>(),
        });
        let http = &self.0.http;
        self.call(
            |url| http.post(format!("{url}/v1/bundles")).json(&body),
            move |url, response| {
                Box::pin(async move {
                    let url = url.as_str();
                    let answer: BundleSubmitJson = Self::json(url, response).await?;
                    if answer.hash != expected.to_hex() {
                        return Err(SdkError::Malformed {
                            url: url.to_string(),
                            what: format!(
                                "returned hash {} for a bundle whose hash is {expected}",
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

    /// The bundle's status, from the chain: each finalized member is verified where the node
    /// locates it, and the block of the first one found is read whole for the bundle namespace
    /// (with its proof, so the marker's presence or absence there is proven). Nodes are trusted
    /// only to say where a transaction was *first* finalized, as for [`Self::wait_final`].
    pub async fn bundle_status(&self, bundle: &Bundle) -> Result<BundleStatus, SdkError> {
        let hashes = bundle.member_hashes();
        let marker = Marker::new(hashes.clone()).transaction();
        let mut members = Vec::with_capacity(hashes.len());
        for hash in hashes {
            members.push(self.final_tx(hash).await?);
        }
        let Some(first) = members.iter().flatten().next() else {
            return Ok(BundleStatus::Pending);
        };
        let height = first.height;
        let block = self
            .namespace_range(BUNDLE_NAMESPACE, height, height)
            .await?
            .pop()
            .expect("one height read");
        let marked = matches!(&block.content, NamespaceContent::Transactions(txs) if txs.contains(&marker.payload));
        if !marked {
            return Ok(BundleStatus::Failed {
                member: first.hash,
                height,
                reason: format!(
                    "member {} was finalized at height {height}, whose block does not hold the bundle's marker",
                    first.hash
                ),
            });
        }
        if let Some(other) = members.iter().flatten().find(|m| m.height != height) {
            let (early, late) = if other.height < height {
                (other, height)
            } else {
                (first, other.height)
            };
            return Ok(BundleStatus::Failed {
                member: early.hash,
                height: early.height,
                reason: format!(
                    "member {} was first finalized at height {}, another at height {late}",
                    early.hash, early.height
                ),
            });
        }
        if let Some(found) = self.final_tx(marker.hash()).await?
            && found.height != height
        {
            return Ok(BundleStatus::Failed {
                member: first.hash,
                height,
                reason: format!(
                    "the bundle's marker was first finalized at height {}, not with its members at height {height}",
                    found.height
                ),
            });
        }
        if members.iter().any(Option::is_none) {
            // The marker and a member are in the block at `height`: the node has not indexed
            // the rest of it yet, or lies by omission; ask again.
            return Ok(BundleStatus::Pending);
        }
        Ok(BundleStatus::Finalized {
            height,
            members: members.into_iter().flatten().collect(),
        })
    }

    /// Waits until the bundle is finalized or has failed (as [`Self::bundle_status`] says).
    pub async fn wait_bundle(
        &self,
        bundle: &Bundle,
        timeout: Duration,
    ) -> Result<BundleStatus, SdkError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.bundle_status(bundle).await? {
                BundleStatus::Pending => {}
                done => return Ok(done),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SdkError::Timeout {
                    hash: bundle.hash(),
                    after: timeout,
                });
            }
            tokio::time::sleep(self.0.options.poll_interval).await;
        }
    }
}
