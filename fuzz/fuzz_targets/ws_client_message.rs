//! The WebSocket client-message parser, before and after authentication.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tickfill::ws::client_protocol;

fuzz_target!(|data: &[u8]| {
    // A text frame is UTF-8 by the time it reaches the parser (tungstenite checks).
    if let Ok(text) = std::str::from_utf8(data) {
        for authenticated in [false, true] {
            if let Err(e) = client_protocol::parse(text, authenticated) {
                let _ = e.to_json();
            }
        }
    }
});
