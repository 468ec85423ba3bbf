//! Keys without a dealer, on real processes: four operators each run `cortado keygen` on their
//! own "host" (directory), agree on a ceremony file, and run `cortado ceremony` at once; the
//! four write one genesis, which `cortado genesis verify` accepts against the transcript and a
//! tampered copy of which it refuses; each host holds its own share only, each share matches
//! the public polynomial, two shares sign nothing the group key accepts and three do; then
//! four `cortado node` processes run that genesis and finalize a transaction.

mod common;

use common::{Net, free_port_range};
use commonware_cryptography::bls12381::primitives::ops::{self, threshold};
use commonware_parallel::Sequential;
use cortado_chain::{Variant, keys};
use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

const CORTADO: &str = env!("CARGO_BIN_EXE_cortado");

fn cortado(args: &[&str]) -> std::process::Output {
    Command::new(CORTADO).args(args).output().expect("runs")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `key = "value"` string of a TOML file.
fn toml_field(file: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    value[key].as_str().unwrap().to_string()
}

#[cfg(unix)]
fn mode(file: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_operators_make_a_key_nobody_holds_and_run_the_chain() {
    let dir = std::env::temp_dir().join(format!("cortado-ceremony-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let hosts: Vec<PathBuf> = (0..4).map(|i| dir.join(format!("host-{i}"))).collect();
    let base = free_port_range(8);

    // Each operator makes its identity on its own host.
    let mut participants = String::new();
    for (i, host) in hosts.iter().enumerate() {
        let identity = host.join("identity.toml");
        let out = cortado(&["keygen", "--out", path(&identity)]);
        assert!(out.status.success(), "{out:?}");
        let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
        #[cfg(unix)]
        assert_eq!(mode(&identity), 0o600);
        let again = cortado(&["keygen", "--out", path(&identity)]);
        assert!(
            !again.status.success()
                && String::from_utf8_lossy(&again.stderr).contains("never overwritten"),
            "{again:?}"
        );
        participants.push_str(&format!(
            "[[participants]]\npublic_key = \"{key}\"\np2p = \"127.0.0.1:{}\"\napi = \"127.0.0.1:{}\"\nrole = \"api\"\n\n",
            base + i as u16,
            base + 4 + i as u16
        ));
    }
    let ceremony_file = dir.join("ceremony.toml");
    std::fs::write(
        &ceremony_file,
        format!("chain_id = 5\nround = 0\ntimestamp_ms = 1765000000000\n\n{participants}"),
    )
    .unwrap();

    // The four ceremonies, at once.
    let started = Instant::now();
    let mut children: Vec<_> = hosts
        .iter()
        .map(|host| {
            let log = std::fs::File::create(host.join("ceremony.log")).unwrap();
            Command::new(CORTADO)
                .args(["ceremony", "--config", path(&ceremony_file)])
                .args(["--key", path(&host.join("identity.toml"))])
                .args(["--out", path(host), "--timeout-s", "120"])
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in children.iter_mut().enumerate() {
        let status = child.wait().unwrap();
        let log = std::fs::read_to_string(hosts[i].join("ceremony.log")).unwrap();
        assert!(status.success(), "ceremony {i} failed:\n{log}");
    }
    println!(
        "4 ceremonies on loopback completed in {:?}",
        started.elapsed()
    );

    // One genesis everywhere, from a DKG, that verify accepts.
    let genesis = std::fs::read_to_string(hosts[0].join("genesis.toml")).unwrap();
    for host in &hosts {
        assert_eq!(
            std::fs::read_to_string(host.join("genesis.toml")).unwrap(),
            genesis
        );
        assert!(
            !host.join("ceremony-state").exists(),
            "the resumption state is removed"
        );
        #[cfg(unix)]
        assert_eq!(mode(&host.join("node.toml")), 0o600);
    }
    assert_eq!(toml_field(&hosts[0].join("genesis.toml"), "dealer"), "dkg");
    let verify = |genesis: &Path| {
        cortado(&[
            "genesis",
            "verify",
            "--genesis",
            path(genesis),
            "--ceremony",
            path(&ceremony_file),
            "--transcript",
            path(&hosts[2].join("ceremony-transcript.hex")),
        ])
    };
    let ok = verify(&hosts[0].join("genesis.toml"));
    assert!(
        ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("matches the ceremony"),
        "{ok:?}"
    );
    let tampered = dir.join("tampered.toml");
    std::fs::write(
        &tampered,
        genesis.replace(&format!(":{}\"", base + 4), &format!(":{}\"", base + 9)),
    )
    .unwrap();
    let refused = verify(&tampered);
    assert!(
        !refused.status.success()
            && String::from_utf8_lossy(&refused.stderr).contains("validator list differs"),
        "{refused:?}"
    );

    // Each host holds its own share, which matches the public polynomial; no host holds
    // another's. Two shares cannot sign for the group; three can.
    let sharing =
        keys::parse_sharing(&toml_field(&hosts[0].join("genesis.toml"), "polynomial"), 4).unwrap();
    let shares: Vec<_> = hosts
        .iter()
        .map(|h| keys::parse_share(&toml_field(&h.join("node.toml"), "share")).unwrap())
        .collect();
    for (i, share) in shares.iter().enumerate() {
        assert_eq!(
            sharing.partial_public(share.index).unwrap(),
            share.public::<Variant>(),
            "host {i}'s share"
        );
        let own = keys::share_hex(share);
        for (j, host) in hosts.iter().enumerate() {
            for entry in std::fs::read_dir(host).unwrap() {
                let file = entry.unwrap().path();
                if file.is_file() && j != i {
                    let text = std::fs::read_to_string(&file).unwrap_or_default();
                    assert!(
                        !text.contains(&own),
                        "host {j}'s {file:?} holds host {i}'s share"
                    );
                }
            }
        }
    }
    let (ns, msg) = (b"_CEREMONY_TEST", b"hello");
    let partials: Vec<_> = shares
        .iter()
        .map(|s| threshold::sign_message::<Variant>(s, ns, msg))
        .collect();
    assert!(threshold::recover::<Variant, _>(&sharing, &partials[..2], &Sequential).is_err());
    let signature =
        threshold::recover::<Variant, _>(&sharing, &partials[1..], &Sequential).unwrap();
    ops::verify_message::<Variant>(sharing.public(), ns, msg, &signature).unwrap();

    // The validators run the chain the ceremony made.
    let files = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            (
                h.join("node.toml"),
                format!("http://127.0.0.1:{}", base + 4 + i as u16),
            )
        })
        .collect();
    let net = Net::from_node_files(&dir, files);
    for i in 0..4 {
        net.wait_height(i, 3).await;
    }
    let hash = net.submit(1, 9, b"after the ceremony").await;
    let (height, _) = net.wait_final(3, &hash).await;
    assert!(height > 0);
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
