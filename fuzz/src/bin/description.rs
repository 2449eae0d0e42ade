//! The model descriptions that travel beside an ONNX file: an image model's `ModelConfig`
//! and a text model's `TextModelConfig`, both from JSON a person may supply.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = glimpse::ModelConfig::from_json(data);
        let _ = glimpse::text::TextModelConfig::from_json(data);
    });
}
