//! The real `tickfill serve` as a child process for tests that read what it writes: its
//! stdout banner (waited on for "ready") and its stderr log lines, handed to the test one by
//! one as they arrive, so a test waits on a fact (a line) rather than on time.

#![allow(dead_code, reason = "each test binary uses a subset")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a start or an awaited log line may take on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running `serve`: killed (SIGKILL) and reaped on drop.
pub struct Served {
    child: Child,
    stderr: Receiver<String>,
    /// Every stderr line received so far, in order.
    pub lines: Vec<String>,
    /// Its stdout up to "ready".
    pub banner: Vec<String>,
}

impl Served {
    /// Spawns `cmd` (a `serve` command) and waits for its "ready" line on stdout; panics with
    /// both outputs when it exits or takes longer than [`PATIENCE`].
    pub fn start(mut cmd: Command) -> Served {
        let mut child =
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn serve");
        let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let (err_tx, stderr) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if err_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (out_tx, out_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end so the child never blocks on a full pipe.
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = out_tx.send(line);
            }
        });
        let mut served = Served { child, stderr, lines: Vec::new(), banner: Vec::new() };
        let deadline = Instant::now() + PATIENCE;
        loop {
            match out_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    let ready = line.contains("ready");
                    served.banner.push(line);
                    if ready {
                        return served;
                    }
                }
                Err(e) => {
                    let _ = served.child.kill();
                    let _ = served.child.wait();
                    served.lines.extend(served.stderr.try_iter());
                    panic!(
                        "serve did not get ready ({e:?}):\nstdout:\n{}\nstderr:\n{}",
                        served.banner.join("\n"),
                        served.lines.join("\n")
                    );
                }
            }
        }
    }

    /// Waits for the first stderr line (after those already seen) for which `found` holds,
    /// and returns it; panics naming `what` with every line seen when none comes.
    pub fn wait_line(&mut self, what: &str, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.stderr.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    self.lines.push(line.clone());
                    if found(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!("no log line {what}; stderr so far:\n{}", self.lines.join("\n"))
                }
            }
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
