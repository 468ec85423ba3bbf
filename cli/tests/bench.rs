//! A short run of `cortado bench` against a real 4-node network: the JSON result is
//! well-formed and consistent (every transaction accounted for), and the SVG is drawn.

mod common;

use common::Net;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_smoke_run_is_consistent() {
    let dir = std::env::temp_dir().join(format!("cortado-bench-{}", std::process::id()));
    let net = Net::start(&dir, 4);
    net.wait_height(0, 1).await;
    let (out, svg) = (dir.join("bench.json"), dir.join("bench.svg"));
    let urls = format!("{},{}", net.nodes[0].url, net.nodes[1].url);
    let output = tokio::task::spawn_blocking({
        let (out, svg) = (out.clone(), svg.clone());
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_cortado"))
                .args([
                    "bench",
                    "--url",
                    &urls,
                    "--sweep",
                    "10,20",
                    "--duration",
                    "2",
                ])
                .args(["--size", "64", "--size-max", "2048", "--settle", "0.5"])
                .args(["--finality-timeout", "20", "--quiet", "--out"])
                .arg(&out)
                .arg("--svg")
                .arg(&svg)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
    for step in steps {
        assert_eq!(
            n(step, "submitted"),
            n(step, "finalized") + n(step, "failed") + n(step, "timed_out"),
            "{step}"
        );
        let failed_by_kind: u64 = step["failed_by_kind"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(failed_by_kind, n(step, "failed"));
        assert!(n(step, "finalized") > 0, "{step}");
        let l = &step["latency_ms"];
        let f = |k: &str| l[k].as_f64().unwrap();
        assert!(
            f("p50") > 0.0 && f("p50") <= f("p90") && f("p90") <= f("p99") && f("p99") <= f("max")
        );
        let per_second_total: u64 = step["per_second"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| n(s, "finalized"))
            .sum();
        assert_eq!(per_second_total, n(step, "finalized"));
        for node in [&net.nodes[0].url, &net.nodes[1].url] {
            let bytes = &step["node_bytes"][node.as_str()];
            assert!(bytes["p2p_sent"].as_f64().unwrap() > 0.0, "{node}: {bytes}");
            assert!(
                bytes["p2p_received"].as_f64().unwrap() > 0.0,
                "{node}: {bytes}"
            );
        }
    }
    for k in ["submitted", "finalized", "failed", "timed_out"] {
        assert_eq!(
            n(&report, k),
            steps.iter().map(|s| n(s, k)).sum::<u64>(),
            "total {k}"
        );
    }
    assert!(report["cores"].as_u64().unwrap() >= 1);
    assert!(report["command"].as_str().unwrap().contains("bench"));
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg"), "{picture}");
    assert!(picture.trim_end().ends_with("</svg>"));
    assert_eq!(picture.matches("<svg").count(), 1);
    assert!(picture.contains("<polyline"));
    assert!(picture.contains("latency vs offered load"));
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_range_rate_below_the_minimum_is_refused_by_name() {
    for rate in ["0", "-3", "1e-300", "NaN"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_cortado"))
            .args([
                "bench",
                "--url",
                "http://127.0.0.1:9",
                "--range-readers",
                "2",
            ])
            .arg(format!("--range-rate={rate}"))
            .arg("--quiet")
            .output()
            .unwrap();
        assert!(!output.status.success(), "rate {rate}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--range-rate is") && stderr.contains("at least 0.001"),
            "rate {rate}: {stderr}"
        );
    }
}
