//! `tickfill bench --relay --quick` end to end: the real binary runs the relay path
//! (a real `nats-server`, `tickfill relay`, `tickfill serve --feed nats://`, each a child
//! process) and the direct path into a temp dir, and the report has both paths' fills,
//! every process's CPU and memory, and every tick delivered. How fast is the report's
//! business, not this test's. Skips loudly when nats-server cannot be installed.

mod support;

use std::path::PathBuf;
use std::process::Command;

/// The nats-server `tools/nats-server` installs (it prints its path); `None`, loudly,
/// when it cannot be installed here.
fn nats_binary() -> Option<PathBuf> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tools/nats-server");
    let out = Command::new(script).output().ok().filter(|o| o.status.success());
    let path = out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if path.is_none() {
        eprintln!("\n\n*** SKIPPED: tools/nats-server could not install nats-server ***\n\n");
    }
    path.map(PathBuf::from)
}

#[test]
fn quick_relay_bench_writes_both_paths_and_every_process() {
    let Some(nats) = nats_binary() else { return };
    let out = tempfile::tempdir().expect("temp dir");
    // Through the engine binary's `bench` command, which runs the harness beside it.
    let mut cmd = Command::new(support::engine());
    cmd.args(["bench", "--relay", "--quick"]).env("TICKFILL_NATS_SERVER", &nats);
    let (dir, name) = support::run_into(cmd, out.path());
    assert!(name.contains("-relay-") && name.ends_with("-quick"), "{name}");
    for path in ["direct", "relay"] {
        let hgrm =
            std::fs::read_to_string(dir.join(format!("{path}_wire_to_wire.hgrm"))).expect("hgrm");
        assert!(support::total_count(&hgrm) > 0, "{path}: fills were timed");
        let svg = std::fs::read_to_string(dir.join(format!("{path}_wire_to_wire.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<polyline"), "{path}.svg is a plot");
    }
    let summary = std::fs::read_to_string(dir.join("summary.md")).expect("summary.md");
    for needle in [
        "tickfill bench --relay --quick",
        "| load average at the start",
        "## A/B: tick-to-fill",
        "| direct | engine |",
        "| relay | nats-server |",
        "| relay | relay |",
        "| relay | engine |",
        "## Throughput",
        "JetStream store on disk",
    ] {
        assert!(summary.contains(needle), "summary.md lacks {needle:?}:\n{summary}");
    }
    // Every tick of each measured phase reached its engine (the A/B rows end with
    // `sent / received`), and every process had resident memory.
    for path in ["direct", "relay"] {
        let row = summary
            .lines()
            .find(|l| l.starts_with(&format!("| {path} | ")) && l.contains(" / "))
            .expect("A/B row");
        let counts = row.split('|').nth(8).expect("sent / received column");
        let (sent, received) = counts.split_once(" / ").expect("sent / received");
        assert_eq!(sent.trim(), received.trim(), "{path}: every tick delivered: {row}");
        assert_ne!(sent.trim(), "0", "{row}");
    }
    for line in summary.lines().filter(|l| {
        [
            "| direct | engine |",
            "| relay | nats-server |",
            "| relay | relay |",
            "| relay | engine |",
        ]
        .iter()
        .any(|p| l.starts_with(p))
    }) {
        let rss: f64 = line.split('|').nth(6).unwrap().trim().parse().expect("RssAnon MiB");
        assert!(rss > 0.0, "a process without memory: {line}");
    }
    let index = std::fs::read_to_string(out.path().join("README.md")).expect("index");
    assert!(index.contains(&format!("[{name}]({name}/summary.md)")), "{index}");
}
