//! Decides whether the built frontend is embedded in the binary.
//!
//! `src/api/ui.rs` embeds `frontend/dist` with rust-embed when it exists at build time
//! (`cd frontend && npm ci && npm run build`, or `tools/run` / `tools/test`). Without it the
//! build still succeeds (a fresh clone needs no Node.js): the binary then serves a page at `/`
//! saying it was built without the UI, and `--frontend DIR` can point at a build on disk.
use std::path::Path;

fn main() {
    let dist = Path::new("frontend/dist");
    if dist.join("index.html").is_file() {
        // Any file added, removed or changed under dist/ rebuilds the embedded copy.
        println!("cargo::rerun-if-changed=frontend/dist");
    } else {
        // Watching frontend/ notices dist/ appearing (a missing path would rerun every build).
        println!("cargo::rerun-if-changed=frontend");
        println!(
            "cargo::warning=frontend/dist is not built: this binary embeds no UI (serve one with \
             --frontend DIR, or run `npm ci && npm run build` in frontend/ and build again)"
        );
    }
}
