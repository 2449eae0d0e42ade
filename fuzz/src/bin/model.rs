//! The ONNX readers: `inspect` (what the page shows before loading), then, if the file passes
//! that, the loader (`Model::from_bytes`: parse, check, optimise). Errors are fine; only a
//! panic, an abort or a hang is a finding.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if glimpse::model::inspect::inspect(data).is_ok() {
            let _ = glimpse::Model::from_bytes(data);
        }
    });
}
