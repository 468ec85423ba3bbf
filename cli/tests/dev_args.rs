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
