//! Node files as `cortado genesis` writes them, and the consensus timing a node refuses.

use cortado_node::{BLOCK_INTERVAL_MIN_MS, ConsensusFile, Genesis, NodeConfig, testnet};
use std::{
    net::{IpAddr, Ipv4Addr},
    path::PathBuf,
};

/// A fresh 4-validator network under a directory of this test's own: the directory and its
/// node files.
fn generate(name: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = std::env::temp_dir().join(format!("cortado-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = testnet::generate(
        &dir,
        &testnet::Options {
            validators: 4,
            chain_id: 1,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            p2p_port_base: 29000,
            api_port_base: 29100,
            timestamp_ms: 0,
            limits: Default::default(),
            seed: Some(7),
            consensus: ConsensusFile::default(),
            api_nodes: None,
        },
    )
    .expect("generates");
    (dir, files)
}

#[test]
fn generated_node_files_load_with_paced_leaders() {
    let (dir, files) = generate("default");
    for file in &files {
        let cfg = NodeConfig::load(file).expect("a generated node file loads");
        assert_eq!(
            cfg.node.consensus.block_interval_min_ms,
            BLOCK_INTERVAL_MIN_MS
        );
        assert_eq!(
            cfg.node.consensus.timeouts().block_interval_min.as_millis(),
            u128::from(BLOCK_INTERVAL_MIN_MS)
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_block_interval_above_half_the_leader_timeout_is_refused() {
    let (dir, files) = generate("interval");
    let file = &files[0];
    let text = std::fs::read_to_string(file).unwrap();
    let leader = ConsensusFile::default().leader_timeout_ms;
    let paced = text.replace(
        &format!("block_interval_min_ms = {BLOCK_INTERVAL_MIN_MS}"),
        &format!("block_interval_min_ms = {}", leader / 2 + 1),
    );
    assert_ne!(paced, text, "the node file names block_interval_min_ms");
    std::fs::write(file, paced).unwrap();
    let err = NodeConfig::load(file).expect_err("refused").to_string();
    assert!(
        err.contains("[consensus] block_interval_min must be at most half the leader timeout"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_genesis_listing_a_validator_twice_is_refused() {
    let (dir, _) = generate("duplicate");
    let mut genesis = Genesis::load(&dir.join("genesis.toml")).expect("generated genesis loads");
    genesis.validators[2].public_key = genesis.validators[0].public_key.clone();
    let err = genesis.check().expect_err("a key listed twice is refused");
    assert!(
        err.contains("listed twice") && err.contains("validators 0 and 2"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(unix)]
#[test]
fn node_files_are_written_private_and_refused_when_others_may_read_them() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, files) = generate("mode");
    let file = &files[0];
    assert_eq!(
        std::fs::metadata(file).unwrap().permissions().mode() & 0o777,
        0o600,
        "written owner-only"
    );
    let cfg = NodeConfig::load(file).expect("a private node file loads");
    let shown = format!("{:?}", cfg.node);
    assert!(
        shown.contains("private_key: <redacted>") && shown.contains("share: <redacted>"),
        "{shown}"
    );
    assert!(!shown.contains(cfg.node.private_key.expose()));
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = NodeConfig::load(file).expect_err("refused").to_string();
    assert!(
        err.contains("mode 644") && err.contains(&format!("chmod 600 {}", file.display())),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_node_whose_p2p_port_is_taken_stops_with_a_clear_error() {
    let (dir, files) = generate("p2p-port");
    let cfg = NodeConfig::load(&files[0]).expect("loads");
    let taken = std::net::TcpListener::bind(cfg.p2p_listen()).expect("the port is free");
    let err = cortado_node::run(cfg, Some(std::time::Duration::from_secs(5)))
        .expect_err("the port is taken");
    let message = err.to_string();
    assert!(
        message.starts_with("cannot listen for p2p on 127.0.0.1:29000")
            && message.contains("using the port?"),
        "{message}"
    );
    drop(taken);
    let _ = std::fs::remove_dir_all(dir);
}
