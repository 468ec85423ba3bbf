//! The authenticated, encrypted p2p network among a fixed set of validators (commonware's
//! `authenticated::lookup`), as the node and the key ceremony start it.

use commonware_cryptography::ChaCha20Poly1305;
use commonware_p2p::{Address, AddressableManager, authenticated::lookup};
use commonware_runtime::{Supervisor, tokio as cw_tokio};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{NZUsize, ordered::Map};
use cortado_chain::{PrivateKey, PublicKey};
use std::{net::SocketAddr, time::Duration};

/// How often the dialer connects to one more validator it is not connected to. commonware's
/// presets dial one peer per 0.5 s (local) or 1 s (recommended), so a restarted node of ten
/// validators reached its last peer 4.5 s after it started; every peer is a known validator,
/// so dialing them all within a fraction of a second costs nothing.
const DIAL_FREQUENCY: Duration = Duration::from_millis(25);

/// How long after reserving a peer (to dial it, or for its incoming connection) a node refuses
/// another connection with that peer. commonware's presets say 1 s (local) and 60 s
/// (recommended). A peer that keeps dialing a validator that is down reserves it each time, so
/// when the validator comes back, its own dial is refused by that peer, which then refuses
/// the peer's dial back for the same period: measured on 4 loopback processes after a 30 s
/// SIGKILL, one pair refused each other every ~1.6 s for over 5 s while the node caught up
/// without it (with 60 s, a restarted validator could be cut off from most peers for minutes).
/// A short cooldown settles such a race within a few hundred milliseconds; a peer that is down
/// is then dialed a few times a second by each validator, a SYN each.
const PEER_CONNECTION_COOLDOWN: Duration = Duration::from_millis(200);

/// The handshake's signing domain: `prefix || chain_id` (the node and the ceremony use
/// different prefixes, so neither ever talks to the other).
pub(crate) fn namespace(prefix: &[u8], chain_id: u64) -> Vec<u8> {
    let mut ns = prefix.to_vec();
    ns.extend_from_slice(&chain_id.to_be_bytes());
    ns
}

/// The network handle to register channels on and start.
pub(crate) type Network =
    lookup::Network<cw_tokio::Context, Cups<Sake<PrivateKey>, ChaCha20Poly1305>>;

/// A network listening on `listen` that admits exactly `peers` (this node among them).
///
/// commonware's listener panics inside its own task when the port is taken, and the node then
/// ran on without p2p (seen when a benchmark restarted a node before the old process had let
/// go of the port): the port is bound once first, so that case is an `Err`.
pub(crate) fn network(
    context: &cw_tokio::Context,
    signer: &PrivateKey,
    namespace: &[u8],
    listen: SocketAddr,
    peers: &[(PublicKey, SocketAddr)],
    max_message_size: u32,
) -> std::io::Result<(Network, lookup::Oracle<PublicKey>)> {
    drop(std::net::TcpListener::bind(listen)?);
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: signer.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let all_loopback = peers.iter().all(|(_, a)| a.ip().is_loopback());
    let build = if all_loopback {
        lookup::Config::local
    } else {
        lookup::Config::recommended
    };
    let mut cfg = build(
        handshake,
        namespace,
        listen,
        NZUsize!(peers.len().max(1)),
        max_message_size,
        NZUsize!(1024),
    );
    cfg.allow_private_ips = true;
    cfg.dial_frequency = DIAL_FREQUENCY;
    cfg.peer_connection_cooldown = PEER_CONNECTION_COOLDOWN;
    let (network, mut oracle) = lookup::Network::new(context.child("network"), cfg);
    let book: Map<_, Address> = Map::from_iter_dedup(
        peers
            .iter()
            .map(|(k, a)| (k.clone(), Address::Symmetric(*a))),
    );
    let _ = oracle.track(0, book);
    Ok((network, oracle))
}
