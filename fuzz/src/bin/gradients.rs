//! The gradient engine's setup: `GradModel::from_bytes` reads the ONNX graph, finds the path
//! from input to output and builds a tract plan exposing what the backward pass reads.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = glimpse::grad::GradModel::from_bytes(data, &[]);
    });
}
