//! Keys without a dealer: `cortado keygen` (an operator's identity, made on its own host) and
//! `cortado ceremony` (the DKG of `cortado_chain::ceremony` among every operator, over the
//! authenticated p2p network), which writes the genesis file, the operator's node file and the
//! ceremony transcript; `cortado genesis verify` checks a genesis against a transcript.
//!
//! The ceremony file is what the operators agree on beforehand (the same file on every host):
//!
//! ```toml
//! chain_id = 1
//! round = 0                  # incremented for every attempt, failed ones included
//! timestamp_ms = 1765000000000
//! [[participants]]           # one per operator: `cortado keygen` prints the public key
//! public_key = "…"
//! p2p = "10.0.0.1:27000"     # where its ceremony and then its node listen
//! api = "10.0.0.1:27100"
//! role = "api"               # or "validator"
//! ```
//!
//! What a participant writes to its `--out` directory: `genesis.toml` (identical on every host:
//! the participants as validators, the group key and polynomial, `dealer = "dkg"`),
//! `ceremony-transcript.hex` (public: every signed dealer log and confirmation) and `node.toml`
//! (private, mode 0600: its identity and its own share, nothing else). While the ceremony runs,
//! `ceremony-state/` holds what a restarted participant needs to resume (its dealing seed and
//! the dealings it acknowledged); it is removed once the files are written.

use crate::{
    config::{
        ConsensusFile, Genesis, GenesisValidator, LimitsFile, MempoolFile, NodeFile, Role, SyncFile,
    },
    secret::{Secret, check_private, write_private},
};
use commonware_codec::{Decode as _, Encode as _};
use commonware_cryptography::Signer as _;
use commonware_math::algebra::Random as _;
use commonware_runtime::{Quota, Runner as _, Spawner as _, Supervisor as _, tokio as cw_tokio};
use commonware_utils::{NZU32, ordered::Set};
use cortado_chain::{
    PrivateKey, PublicKey,
    ceremony::{
        Plan, Transcript,
        actor::{self, Aborted},
        state::Completed,
        wire,
    },
    keys,
};
use serde::{Deserialize, Serialize};
use std::{
    path::{Path, PathBuf},
    time::Duration,
};
use tracing::info;

/// The ceremony's p2p channel.
const CHANNEL: u64 = 0;
/// How often dealings and status are repeated.
const TICK: Duration = Duration::from_millis(250);
/// How long a participant that has finished keeps answering those that have not.
const LINGER: Duration = Duration::from_secs(10);

/// Why keygen, a ceremony or a verification failed.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The ceremony file is not usable.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The ceremony did not complete.
    #[error(transparent)]
    Aborted(#[from] Aborted),
    /// The genesis does not match the transcript.
    #[error("the genesis does not match the ceremony: {0}")]
    Mismatch(String),
}

fn file_error(path: &Path, message: impl ToString) -> CeremonyError {
    CeremonyError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// What the operators agree on before the ceremony.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CeremonyFile {
    /// The chain the key is for.
    pub chain_id: u64,
    /// Incremented for every attempt, failed ones included.
    #[serde(default)]
    pub round: u64,
    /// Timestamp of the genesis block, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Block limits of the chain.
    #[serde(default = "default_limits")]
    pub limits: LimitsFile,
    /// Every operator: identity, addresses, role.
    pub participants: Vec<GenesisValidator>,
}

fn default_limits() -> LimitsFile {
    LimitsFile::from(cortado_types::Limits::default())
}

impl CeremonyFile {
    /// Reads and checks a ceremony file.
    pub fn load(path: &Path) -> Result<Self, CeremonyError> {
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        let file: Self = toml::from_str(&text).map_err(|e| file_error(path, e))?;
        file.plan().map_err(|message| CeremonyError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(file)
    }

    /// The participants sorted by key (the genesis validators' order), and the plan.
    pub fn plan(&self) -> Result<Plan, String> {
        if self.participants.is_empty() {
            return Err("the ceremony lists no participants".into());
        }
        let mut keys = Vec::with_capacity(self.participants.len());
        for p in &self.participants {
            keys.push(
                keys::parse_public_key(&p.public_key)
                    .map_err(|e| format!("participant {}: {e}", p.public_key))?,
            );
        }
        let n = keys.len();
        let participants = Set::from_iter_dedup(keys);
        if participants.len() != n {
            return Err("a participant's key is listed twice: every operator needs its own".into());
        }
        if !self.participants.iter().any(|p| p.role == Role::Api) {
            return Err("no participant has role = \"api\"".into());
        }
        cortado_types::Limits::from(self.limits).check()?;
        Ok(Plan {
            chain_id: self.chain_id,
            round: self.round,
            participants,
        })
    }

    /// The participants in the plan's (key) order.
    fn sorted(&self) -> Vec<GenesisValidator> {
        let mut sorted = self.participants.clone();
        sorted.sort_by_key(|p| keys::parse_public_key(&p.public_key).expect("checked by plan"));
        sorted
    }

    /// The genesis this ceremony's output makes.
    pub fn genesis(&self, sharing: &cortado_chain::Sharing) -> Genesis {
        let validators = self
            .sorted()
            .into_iter()
            .map(|mut v| {
                let key = keys::parse_public_key(&v.public_key).expect("checked by plan");
                v.public_key = keys::public_key_hex(&key);
                v
            })
            .collect();
        Genesis {
            chain_id: self.chain_id,
            timestamp_ms: self.timestamp_ms,
            dealer: "dkg".into(),
            group_public_key: keys::identity_hex(sharing),
            polynomial: keys::sharing_hex(sharing),
            limits: self.limits,
            validators,
        }
    }
}

/// An operator's identity file (`cortado keygen`).
#[derive(Serialize, Deserialize)]
struct IdentityFile {
    /// ed25519 private key (hex). Keep this file private.
    private_key: Secret,
}

/// Makes a new identity at `path` (mode 0600; refuses to overwrite one) and returns its public
/// key.
pub fn keygen(path: &Path) -> Result<PublicKey, CeremonyError> {
    if path.exists() {
        return Err(file_error(
            path,
            "already exists; an identity is never overwritten (remove it first if you mean it)",
        ));
    }
    let key = PrivateKey::random(rand::rng());
    let text = toml::to_string_pretty(&IdentityFile {
        private_key: Secret::new(keys::private_key_hex(&key)),
    })
    .expect("serializes");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    }
    write_private(
        path,
        &format!(
            "# A Cortado operator's identity (`cortado keygen`). Private: never share it.\n{text}"
        ),
    )
    .map_err(|e| file_error(path, e))?;
    Ok(key.public_key())
}

/// Reads an identity file (refused if its group or others may read it).
pub fn load_identity(path: &Path) -> Result<PrivateKey, CeremonyError> {
    check_private(path).map_err(|m| file_error(path, m))?;
    let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    let file: IdentityFile = toml::from_str(&text).map_err(|e| file_error(path, e))?;
    keys::parse_private_key(file.private_key.expose()).map_err(|e| file_error(path, e))
}

/// Where a participant's ceremony writes.
#[derive(Clone, Debug)]
pub struct Options {
    /// Output directory (genesis, node file, transcript; the state while running).
    pub out: PathBuf,
    /// Abort if not complete within this long.
    pub timeout: Duration,
}

/// Runs `identity`'s part of the ceremony and writes its files; returns the genesis path.
pub fn run(
    ceremony: &CeremonyFile,
    identity: PrivateKey,
    opts: &Options,
) -> Result<PathBuf, CeremonyError> {
    let plan = ceremony.plan().map_err(|message| CeremonyError::Invalid {
        path: opts.out.clone(),
        message,
    })?;
    let me = identity.public_key();
    let Some(mine) = ceremony
        .participants
        .iter()
        .find(|p| keys::parse_public_key(&p.public_key).is_ok_and(|k| k == me))
        .cloned()
    else {
        return Err(CeremonyError::Invalid {
            path: opts.out.clone(),
            message: format!("this identity ({me}) is not a participant of the ceremony"),
        });
    };
    std::fs::create_dir_all(&opts.out).map_err(|e| file_error(&opts.out, e))?;
    let state = opts.out.join("ceremony-state");
    let peers: Vec<(PublicKey, std::net::SocketAddr)> = ceremony
        .participants
        .iter()
        .map(|p| {
            (
                keys::parse_public_key(&p.public_key).expect("checked"),
                p.p2p,
            )
        })
        .collect();
    let runtime = cw_tokio::Config::new()
        .with_worker_threads(2)
        .with_storage_directory(&state)
        .with_catch_panics(false);
    let timeout = opts.timeout;
    let private_key = Secret::new(keys::private_key_hex(&identity));
    let done: Result<Completed, CeremonyError> =
        cw_tokio::Runner::new(runtime).start(|context| async move {
            let namespace = crate::p2p::namespace(b"_CORTADO_CEREMONY_P2P", plan.chain_id);
            let max = wire::max_size(plan.n()) as u32;
            let (mut network, _oracle) =
                crate::p2p::network(&context, &identity, &namespace, mine.p2p, &peers, max)
                    .map_err(|e| {
                        file_error(
                            Path::new(&mine.p2p.to_string()),
                            format!("cannot listen for the ceremony: {e}"),
                        )
                    })?;
            let channel = network.register(CHANNEL, Quota::per_second(NZU32!(1_000)));
            let network = network.start();
            info!(
                participants = plan.participants.len(),
                round = plan.round,
                "ceremony started"
            );
            let result = context
                .child("ceremony")
                .spawn(move |context| {
                    actor::run(
                        context,
                        plan,
                        identity,
                        channel,
                        actor::Config {
                            tick: TICK,
                            timeout,
                            linger: LINGER,
                            partition: "ceremony".into(),
                            corrupt_dealings: false,
                        },
                    )
                })
                .await
                .expect("the ceremony task does not panic");
            network.abort();
            Ok(result?)
        });
    let done = done?;
    let genesis = write_outputs(ceremony, &mine, private_key, &done, &opts.out)?;
    std::fs::remove_dir_all(&state).map_err(|e| file_error(&state, e))?;
    Ok(genesis)
}

fn write_outputs(
    ceremony: &CeremonyFile,
    mine: &GenesisValidator,
    private_key: Secret,
    done: &Completed,
    out: &Path,
) -> Result<PathBuf, CeremonyError> {
    let genesis = ceremony.genesis(done.output.public());
    let text = toml::to_string_pretty(&genesis).expect("genesis serializes");
    let path = out.join("genesis.toml");
    std::fs::write(
        &path,
        format!(
            "# Cortado genesis, from a DKG ceremony among its validators (`cortado ceremony`): nobody\n\
             # knows the group secret. Check it: cortado genesis verify --genesis genesis.toml \\\n\
             #   --ceremony <the ceremony file> --transcript ceremony-transcript.hex\n{text}"
        ),
    )
    .map_err(|e| file_error(&path, e))?;
    let transcript = out.join("ceremony-transcript.hex");
    std::fs::write(&transcript, hex::encode(done.transcript.encode()) + "\n")
        .map_err(|e| file_error(&transcript, e))?;
    let node = NodeFile {
        genesis: PathBuf::from("genesis.toml"),
        private_key,
        share: Secret::new(keys::share_hex(&done.share)),
        data_dir: PathBuf::from("data"),
        p2p_listen: Some(mine.p2p),
        api_listen: mine.api.unwrap_or_else(|| ([127, 0, 0, 1], 0).into()),
        log: "info".into(),
        worker_threads: 2,
        mempool: MempoolFile::default(),
        consensus: ConsensusFile::default(),
        share_retention_views: None,
        sync: SyncFile::default(),
        api: cortado_api::ApiLimits::default(),
    };
    let node_path = out.join("node.toml");
    let text = toml::to_string_pretty(&node).expect("node file serializes");
    write_private(
        &node_path,
        &format!(
            "# This operator's Cortado node: its identity and its own key share. Private.\n{text}"
        ),
    )
    .map_err(|e| file_error(&node_path, e))?;
    Ok(path)
}

/// Checks `genesis` against the ceremony file and its transcript: the transcript's logs yield
/// the genesis polynomial, every participant confirmed it, and the validators are the
/// participants. Returns a one-line summary.
pub fn verify(genesis: &Path, ceremony: &Path, transcript: &Path) -> Result<String, CeremonyError> {
    let file = CeremonyFile::load(ceremony)?;
    let plan = file.plan().expect("checked by load");
    let g = Genesis::load(genesis).map_err(|e| file_error(genesis, e))?;
    let text = std::fs::read_to_string(transcript).map_err(|e| file_error(transcript, e))?;
    let bytes = hex::decode(text.trim()).map_err(|e| file_error(transcript, e))?;
    let t = Transcript::decode_cfg(bytes::Bytes::from(bytes), &plan.n())
        .map_err(|e| file_error(transcript, format!("not a ceremony transcript: {e}")))?;
    let output = t
        .verify(&plan, &mut rand::rng())
        .map_err(|e| CeremonyError::Mismatch(e.to_string()))?;
    let expected = file.genesis(output.public());
    let mismatch = |what: &str| Err(CeremonyError::Mismatch(format!("its {what} differs")));
    if g.polynomial != expected.polynomial || g.group_public_key != expected.group_public_key {
        return mismatch("group key or polynomial");
    }
    if g.validators != expected.validators {
        return mismatch("validator list");
    }
    if g.chain_id != expected.chain_id || g.limits != expected.limits {
        return mismatch("chain id or limits");
    }
    Ok(format!(
        "genesis {} matches the ceremony: {} participants each dealt and confirmed, group key {}",
        genesis.display(),
        plan.participants.len(),
        g.group_public_key
    ))
}
