//! The index-write failure path on real processes: another process holds node 3's SQLite index
//! locked (`BEGIN EXCLUSIVE`, as an operator's `sqlite3` shell or a backup tool might), so every
//! index write of that node fails with "database is locked" after the busy timeout. The node
//! retries, then stops by itself with a clear error and a non-zero exit status, never a panic;
//! the other three keep finalizing; once the lock is gone, the restarted node replays what it
//! had not indexed and catches up.

mod common;

use common::Net;
use std::{
    process::{Command, Stdio},
    time::Duration,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_index_stops_the_node_cleanly_and_it_recovers() {
    let dir = std::env::temp_dir().join(format!("cortado-index-fail-{}", std::process::id()));
    let mut net = Net::start(&dir, 4);
    net.wait_height(3, 3).await;
    let index = dir.join("node-3").join("data").join("index.sqlite");
    assert!(index.exists(), "{index:?}");
    // Bounded: the lock holder exits after 90 s even if the test dies first.
    let script = "import sqlite3, sys, time\n\
                  c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)\n\
                  c.execute('BEGIN EXCLUSIVE')\n\
                  print('locked', flush=True)\n\
                  time.sleep(90)\n";
    let mut holder = Command::new("python3")
        .args(["-c", script])
        .arg(&index)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    {
        use std::io::BufRead;
        let mut line = String::new();
        let stdout = holder.stdout.as_mut().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked");
    }
    // 4 attempts, each waiting out the 5 s busy timeout, with 2.1 s of pauses between them.
    let status = tokio::task::block_in_place(|| net.nodes[3].wait_exit(Duration::from_secs(120)))
        .expect("the node stops by itself once its index writes keep failing");
    assert!(!status.success(), "{status:?}");
    holder.kill().unwrap();
    holder.wait().unwrap();
    let log = std::fs::read_to_string(dir.join("node-3").join("node.log")).unwrap();
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        log.contains("stopped:") && log.contains("after 4 attempts") && log.contains("locked"),
        "the error names the failed write and its cause: {log}"
    );
    // The others kept finalizing without it.
    let before = net.height(0).await.unwrap();
    net.wait_height(0, before + 5).await;
    // Restarted, it catches up (it replays from its chain storage what it had not indexed).
    net.nodes[3].start();
    let tip = net.height(0).await.unwrap();
    net.wait_height(3, tip).await;
}
