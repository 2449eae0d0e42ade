//! A labels file dropped on the page: text lines, a JSON list, a JSON object of class index
//! to label, or Keras's `imagenet_class_index.json`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = glimpse::labels::read(data);
    });
}
