//! The Host check for browser-facing endpoints (DNS rebinding).
//!
//! A page on `evil.example` whose name an attacker re-points at 127.0.0.1 can make the
//! browser send requests to this server as a same-origin fetch, with `Host:
//! evil.example:5000`. Everything a browser loads from here (the frontend, `/config.js`,
//! `/instruments.json`, `/health`) is therefore served only for a Host naming loopback
//! (`localhost`, `127.0.0.1`, `[::1]`), the bind address, or a configured extra name, on
//! any port. `/api/v1/` (which needs the key in the body, which such a page does not
//! have) and `/metrics` (scrapers) are not checked; a request without a Host header
//! (HTTP/1.0 tools) is let through.

#![forbid(unsafe_code)]

use super::Api;
use super::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// The host part of a Host header value (no port, no brackets), lower case.
fn host_part(value: &str) -> String {
    let v = value.trim();
    let host = if let Some(rest) = v.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        v.rsplit_once(':')
            .map_or(v, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { v })
    };
    host.to_ascii_lowercase()
}

/// True when `value` (a Host header) names this server.
pub fn allowed(value: &str, bind: SocketAddr, extra: &[String]) -> bool {
    let host = host_part(value);
    if matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1") {
        return true;
    }
    let ip = bind.ip();
    if !ip.is_unspecified() && host == ip.to_string() {
        return true;
    }
    extra.iter().any(|e| host_part(e) == host)
}

/// The middleware: browser-facing paths with a foreign Host get a 403.
pub(crate) async fn check(State(api): State<Arc<Api>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let exempt = path.starts_with("/api/") || path == "/metrics";
    if !exempt {
        if let Some(value) = req.headers().get(header::HOST) {
            let text = value.to_str().unwrap_or("");
            if !allowed(text, api.config.addr, &api.config.allowed_hosts) {
                let shown: String = text.chars().take(100).collect();
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "Host {shown:?} is not this server: open it as localhost or 127.0.0.1, \
                         or add the name with --allowed-host"
                    ),
                )
                .into_response();
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_the_bind_address_and_extras_are_allowed_others_not() {
        let lo: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let lan: SocketAddr = "192.168.1.7:5000".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:5000".parse().unwrap();
        let extra = vec!["trading.lan".to_string()];
        for ok in ["localhost:5000", "127.0.0.1", "[::1]:5000", "LOCALHOST", "trading.lan:80"] {
            assert!(allowed(ok, lo, &extra), "{ok}");
        }
        assert!(allowed("192.168.1.7:5000", lan, &[]));
        for bad in ["evil.example:5000", "127.0.0.1.evil.example", "0.0.0.0:5000", "", "[::2]"] {
            assert!(!allowed(bad, any, &extra), "{bad}");
        }
        assert!(!allowed("192.168.1.7:5000", lo, &[]));
    }
}
