//! `tickfill bench ARGS` runs `tickfill-bench ARGS` from beside the engine binary: the
//! arguments arrive unchanged and the harness's exit code and messages are the command's.

mod support;

use std::process::Command;

#[test]
fn the_engine_binary_runs_the_harness_with_the_same_arguments() {
    let run = Command::new(support::engine())
        .args(["bench", "--quick", "--rate", "0"])
        .output()
        .expect("tickfill runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "the harness's exit code: {stderr}");
    assert!(stderr.contains("--rate and --seconds must be positive"), "{stderr}");

    let help = Command::new(support::engine()).args(["bench", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success(), "{text}");
    assert!(text.contains("Usage: tickfill bench") && text.contains("--relay"), "{text}");

    let bad = Command::new(support::engine()).args(["bench", "--no-such-option"]).output();
    let bad = bad.unwrap();
    assert_eq!(bad.status.code(), Some(2), "clap's usage error, passed through");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--no-such-option"));
}
