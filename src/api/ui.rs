//! The frontend embedded in the binary (`frontend/dist` at build time, see build.rs), served
//! at `/` when no `--frontend DIR` is given.
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "frontend/dist/"]
#[allow_missing = true]
struct Dist;

/// Whether this binary was built with the frontend in it.
pub fn embedded() -> bool {
    Dist::get("index.html").is_some()
}

const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>tickfill: no frontend</title></head><body><h1>tickfill</h1>\
<p>This binary was built without the frontend (frontend/dist did not exist at build time).</p>\
<p>The API is up at <code>/api/v1/</code>. For the UI, run <code>npm ci &amp;&amp; npm run build</code> \
in <code>frontend/</code> and build the binary again, or start it with <code>--frontend DIR</code>.</p>\
</body></html>";

/// A real file as it is, any other path the single-page app's index.html.
/// Other methods than GET and HEAD get the API's JSON 404.
pub async fn serve(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return super::not_found().await.into_response();
    }
    let path = uri.path().trim_start_matches('/');
    let (file, name) = match Dist::get(path).filter(|_| !path.is_empty()) {
        Some(f) => (f, path),
        None => match Dist::get("index.html") {
            Some(f) => (f, "index.html"),
            None => {
                return (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    NOT_BUILT,
                )
                    .into_response();
            }
        },
    };
    let mime = HeaderValue::from_str(file.metadata.mimetype())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    // Vite's assets carry a content hash in their names; index.html must be revalidated.
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, HeaderValue::from_static(cache))],
        file.data.into_owned(),
    )
        .into_response()
}
