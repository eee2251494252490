//! `tickfill bench` runs the harness executable `tickfill-bench` from beside the engine
//! binary; where it is not built, the command says how to build it. (That it passes the
//! arguments and the exit code through is tested beside the harness, in
//! `bench/tests/launcher.rs`, where cargo builds both.)

use std::path::PathBuf;
use std::process::Command;

/// A copy of the engine binary (hard-linked when the file system allows) in a directory of
/// its own, with no `tickfill-bench` beside it.
fn lone_engine() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let lone = dir.path().join("tickfill");
    let built = env!("CARGO_BIN_EXE_tickfill");
    if std::fs::hard_link(built, &lone).is_err() {
        std::fs::copy(built, &lone).expect("copy the engine binary");
    }
    (dir, lone)
}

#[test]
fn bench_without_the_harness_says_how_to_build_it() {
    let (_dir, lone) = lone_engine();
    let run = Command::new(&lone).args(["bench", "--quick"]).output().expect("tickfill runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`cargo build --release -p tickfill-bench`"), "{stderr}");
    let missing = lone.with_file_name("tickfill-bench");
    assert!(stderr.contains(&missing.display().to_string()), "names the path: {stderr}");
}
