//! Which browser origins may open a WebSocket, checked during the handshake.
//!
//! A browser always sends `Origin`; a page on another site must not be able to read the
//! feed or the order updates of a local engine, so unknown origins get HTTP 403. SDKs and
//! scripts send no `Origin` and are allowed (they authenticate with the API key anyway).

#![forbid(unsafe_code)]

use std::sync::Arc;
use tungstenite::handshake::server::{Callback, ErrorResponse, Request, Response};
use tungstenite::http::StatusCode;

/// The default: loopback pages on any port, over http or https.
pub fn loopback_defaults() -> Vec<String> {
    ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .flat_map(|h| [format!("http://{h}:*"), format!("https://{h}:*")])
        .collect()
}

/// True when `origin` matches one of `allowed`: an exact origin (case-insensitive), a
/// port wildcard `scheme://host:*` (which also matches the bare `scheme://host`), or `*`.
pub fn allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    allowed.iter().any(|a| {
        let a = a.trim().to_ascii_lowercase();
        if a == "*" || a == origin {
            return true;
        }
        let Some(prefix) = a.strip_suffix(":*") else { return false };
        match origin.strip_prefix(prefix) {
            Some("") => true,
            Some(rest) => rest
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
            None => false,
        }
    })
}

/// The handshake callback: refuses a request whose `Origin` is not allowed with 403.
#[derive(Clone, Debug)]
pub(crate) struct OriginCheck {
    pub(crate) allowed: Arc<[String]>,
}

impl Callback for OriginCheck {
    fn on_request(self, request: &Request, response: Response) -> Result<Response, ErrorResponse> {
        let Some(origin) = request.headers().get("origin") else { return Ok(response) };
        let ok = origin.to_str().is_ok_and(|o| allowed(o, &self.allowed));
        if ok {
            return Ok(response);
        }
        let mut refused = ErrorResponse::new(Some("Origin not allowed".to_string()));
        *refused.status_mut() = StatusCode::FORBIDDEN;
        Err(refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_on_any_port_and_nothing_else_by_default() {
        let d = loopback_defaults();
        for ok in [
            "http://localhost:5173",
            "http://localhost",
            "https://127.0.0.1:443",
            "http://[::1]:8080",
            "HTTP://LOCALHOST:3000",
        ] {
            assert!(allowed(ok, &d), "{ok}");
        }
        for bad in [
            "http://evil.com",
            "http://localhost.evil.com",
            "http://localhost:80.evil.com",
            "http://127.0.0.1.nip.io:80",
            "null",
            "",
        ] {
            assert!(!allowed(bad, &d), "{bad}");
        }
        assert!(allowed("https://app.example", &["https://app.example".to_string()]));
        assert!(allowed("https://x.example", &["*".to_string()]));
    }
}
