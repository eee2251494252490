//! The upstream frame decoder: any bytes are a frame or an error, never a panic; and
//! its one-pass quote-field collection agrees with one lookup per field name, on the
//! frame's `data` object and on the frame itself.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tickfill::instruments::InstrumentMaster;
use tickfill::sequencer::decode::{Decoder, quote_fields, quote_fields_by_lookup};

static MASTER: OnceLock<InstrumentMaster> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let master = MASTER.get_or_init(InstrumentMaster::default_universe);
    let mut decoder = Decoder::new();
    // Twice through the same decoder: its reused buffers must not carry state over.
    let first = decoder.decode(data, master).is_ok();
    let second = decoder.decode(data, master).is_ok();
    assert_eq!(first, second);
    let _ = decoder.with_root(data, |root| {
        for v in [Some(root), root.get("data")].into_iter().flatten() {
            assert_eq!(quote_fields(v), quote_fields_by_lookup(v));
        }
        Ok(())
    });
});
