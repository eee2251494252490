//! `tickfill bench --quick` end to end: the real binary runs the whole harness into a
//! temp dir, and the report has every file and every number (how good they are is the
//! report's business, not this test's). The A/B table has the in-process load generator
//! and, as `inline+procgen`, the same run with the load generator as a separate process
//! (`tickfill-bench loadgen`), its fills paired with its crossings across the processes.

mod support;

use std::path::Path;
use std::process::Command;

const METRICS: [&str; 11] = [
    "tick_to_fill",
    "received_to_execution",
    "execution_to_mtm",
    "mtm_to_fanout",
    "fanout_to_journal",
    "received_to_journal",
    "wire_to_wire",
    "fill_to_client",
    "rest_placeorder",
    "ws_echo_rtt",
    "polling_fill_delay",
];

#[test]
fn quick_bench_writes_a_complete_report() {
    let out = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(support::harness());
    cmd.args(["--quick", "--compare", "fused,inline+procgen"]);
    let (dir, name) = support::run_into(cmd, out.path());
    assert!(name.ends_with("-quick"), "{name}");

    for m in METRICS {
        let hgrm = std::fs::read_to_string(dir.join(format!("{m}.hgrm"))).expect(m);
        assert!(hgrm.contains("Percentile"), "{m}.hgrm has the percentile table");
        let svg = std::fs::read_to_string(dir.join(format!("{m}.svg"))).expect(m);
        assert!(svg.starts_with("<svg") && svg.contains("<polyline"), "{m}.svg is a plot");
    }
    // Metrics that always have samples in a working run.
    for m in [
        "tick_to_fill",
        "received_to_journal",
        "wire_to_wire",
        "fill_to_client",
        "rest_placeorder",
        "ws_echo_rtt",
        "polling_fill_delay",
    ] {
        let hgrm = std::fs::read_to_string(dir.join(format!("{m}.hgrm"))).unwrap();
        assert!(support::total_count(&hgrm) > 0, "{m} has samples");
    }

    let summary = std::fs::read_to_string(dir.join("summary.md")).expect("summary.md");
    for needle in [
        "## Machine and build",
        "| rustc |",
        "| commit |",
        "tickfill bench --quick",
        "## Latency (microseconds)",
        "## Ratios",
        "Maximum sustainable: **",
        "`SO_RCVBUF` 262144 bytes on the engine's upstream socket",
        "CPU s per million ticks",
        "per 100 symbols",
        "| 100000 |",
        "## DESIGN.md targets",
        "| fused |",
        "### The load generator's floor: the null engine",
        "frame intended send -> read by the null reader",
    ] {
        assert!(summary.contains(needle), "summary.md lacks {needle:?}:\n{summary}");
    }
    // The separate-process load generator's run timed fills from its crossings: its
    // reports (crossings, progress, lag histogram, phase results) reached the parent.
    let row = summary.lines().find(|l| l.starts_with("| inline+procgen | ")).expect("procgen row");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    for (cell, what) in [(2, "tick-to-fill"), (5, "wire-to-wire")] {
        let p50 = cells[cell].split(" / ").next().unwrap();
        assert_ne!(p50, "0.00", "{what} of the separate-process load generator: {row}");
    }
    // The null engine read every frame its upstream sent.
    let null = summary.split("what a perfect engine would show. ").nth(1).expect("null section");
    let counts: Vec<u64> = null
        .split_whitespace()
        .take(5)
        .filter_map(|w| w.trim_end_matches('.').parse().ok())
        .collect();
    assert!(counts.len() == 2 && counts[0] > 0 && counts[0] == counts[1], "{null}");
    let index = std::fs::read_to_string(out.path().join("README.md")).expect("index");
    assert!(index.contains(&format!("[{name}]({name}/summary.md)")), "{index}");
    assert!(Path::new(&dir).join("summary.md").is_file());
}
