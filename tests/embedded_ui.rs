//! `tickfill serve` without `--frontend` serves the UI embedded at build time (build.rs,
//! src/api/ui.rs), so an installed or copied binary is a complete engine; `--frontend DIR`
//! still overrides it. Run from a directory with no frontend/ so nothing is read from disk.
//!
//! tools/test builds frontend/dist before `cargo test`, so there this checks the embedded
//! index.html byte for byte; a build without dist/ checks the page saying so instead.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Serve {
    child: Child,
    http: String,
    lines: Vec<String>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> (Serve, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickfill"))
        .current_dir(dir.path())
        .args(["serve", "--data-dir", "data", "--api-key", &"k".repeat(32)])
        .args(["--http", "127.0.0.1:0", "--ws", "127.0.0.1:0"])
        .args(["--sim-ws", "127.0.0.1:0", "--sim-rest", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    let mut http = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("tickfill: REST API   http://") {
            http = rest.split('/').next().map(str::to_owned);
        }
        let ready = line.contains("ready");
        lines.push(line);
        if ready {
            break;
        }
    }
    let http = http.unwrap_or_else(|| panic!("no REST address in {lines:#?}"));
    (Serve { child, http, lines }, dir)
}

/// (status line, headers, body) of a GET.
fn get(addr: &str, path: &str) -> (String, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete reply");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    (status.to_owned(), headers.to_ascii_lowercase(), raw[split + 4..].to_vec())
}

#[test]
fn serves_the_embedded_ui_at_root_without_frontend_flag() {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("frontend/dist/index.html");
    let (s, _dir) = serve(&[]);
    let (status, headers, body) = get(&s.http, "/");
    assert!(status.contains("200"), "{status}");
    assert!(headers.contains("content-type: text/html"), "{headers}");
    if built.is_file() {
        assert_eq!(body, std::fs::read(&built).unwrap(), "/ is the built index.html");
        assert!(s.lines.iter().any(|l| l.contains("frontend   embedded")), "{:#?}", s.lines);
        // A client-side route gets the app too; an asset its own bytes and type.
        let (_, _, deep) = get(&s.http, "/positions");
        assert_eq!(deep, body);
        let html = String::from_utf8_lossy(&body);
        // Vite writes `<script type="module" crossorigin src="./assets/index-<hash>.js">`.
        let asset = html
            .split("<script type=\"module\"")
            .nth(1)
            .and_then(|r| r.split("src=\"").nth(1))
            .and_then(|r| r.split('"').next())
            .and_then(|src| src.trim_start_matches('.').strip_prefix("/assets/"));
        let asset = asset.expect("index.html loads its module script from assets/");
        let (status, headers, js) = get(&s.http, &format!("/assets/{asset}"));
        assert!(status.contains("200") && headers.contains("javascript"), "{status} {headers}");
        assert!(headers.contains("immutable"), "{headers}");
        assert_eq!(js, std::fs::read(built.with_file_name("assets").join(asset)).unwrap());
    } else {
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("built without the frontend"), "{text}");
        assert!(s.lines.iter().any(|l| l.contains("built without frontend/dist")));
    }
    // The API is not shadowed by the UI.
    let (status, _, body) = get(&s.http, "/api/v1/nosuch");
    assert!(status.contains("404"), "{status}");
    assert!(String::from_utf8_lossy(&body).contains("\"status\":\"error\""));
}

#[test]
fn frontend_flag_overrides_the_embedded_ui() {
    let dev = tempfile::tempdir().unwrap();
    std::fs::write(dev.path().join("index.html"), "<!doctype html><p>dev build</p>").unwrap();
    let (s, _dir) = serve(&["--frontend", dev.path().to_str().unwrap()]);
    let (status, _, body) = get(&s.http, "/");
    assert!(status.contains("200"), "{status}");
    assert_eq!(String::from_utf8_lossy(&body), "<!doctype html><p>dev build</p>");
}
