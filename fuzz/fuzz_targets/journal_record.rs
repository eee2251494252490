//! The journal's record framing (scan / read_at / records) and payload codec.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tickfill::journal::{codec, record};
use tickfill::types::Seq;

fuzz_target!(|data: &[u8]| {
    // The whole input as one payload.
    if let Ok(event) = codec::decode(data) {
        // What decodes must re-encode and decode to the same event.
        let mut buf = Vec::new();
        codec::encode(&event, &mut buf).expect("a decoded event re-encodes");
        let again = codec::decode(&buf).expect("a re-encoded event decodes");
        assert_eq!(format!("{event:?}"), format!("{again:?}"));
    }
    // The whole input as a segment region.
    let prev = data.first().map(|&b| Seq(u64::from(b)));
    let scan = record::scan(data, prev);
    assert!(scan.end <= data.len());
    for r in record::records(data, scan.end) {
        let _ = codec::decode(r.payload);
    }
    let _ = record::read_at(data, data.len() / 2);
});
