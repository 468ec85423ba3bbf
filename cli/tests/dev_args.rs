//! `cortado dev` refuses options that only a new chain can take when it would resume one.

use std::process::Command;

#[test]
fn dev_refuses_new_chain_options_on_an_existing_chain() {
    let dir = std::env::temp_dir().join(format!("cortado-dev-args-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_cortado"))
        .args(["genesis", "--validators", "4", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for option in [["--block-interval-ms", "10"], ["--api-nodes", "1"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_cortado"))
            .args(["dev", "--dir"])
            .arg(&dir)
            .args(option)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{option:?} accepted on an existing chain"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("apply to a new chain") && err.contains("--fresh"),
            "{option:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dev_dkg_refuses_the_dealers_pacing_option_and_genesis_needs_an_output() {
    let dir = std::env::temp_dir().join(format!("cortado-dev-dkg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_cortado"))
        .args(["dev", "--dkg", "--block-interval-ms", "10", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("with --dkg, edit [consensus]"),
        "{err}"
    );
    assert!(!dir.join("ceremony.toml").exists(), "nothing was started");
    let out = Command::new(env!("CARGO_BIN_EXE_cortado"))
        .args(["genesis", "--validators", "4"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--out DIR"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
