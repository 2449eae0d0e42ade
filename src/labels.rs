//! A labels file, as people keep them beside a model: plain text with one label a line
//! (`synset_words.txt`, `labels.txt`), a JSON list, a JSON object from class index to label
//! (`config.json`'s `id2label`), or Keras's `imagenet_class_index.json` (index → `[wordnet id,
//! label]`).
//!
//! Its input is whatever a person drops on the page: nothing indexes without checking.
#![deny(clippy::indexing_slicing)]

use serde_json::Value;

use crate::error::{Error, Result};

/// The most labels a file may give: far more classes than any classifier has, far fewer than
/// would fill the tab's memory.
pub const MAX_LABELS: usize = 100_000;

/// Reads a labels file. JSON is recognised by its first character (`[` or `{`); anything else
/// is text, one label a line (blank lines at the end ignored, a WordNet id before the label, as
/// in `synset_words.txt`, dropped).
pub fn read(bytes: &[u8]) -> Result<Vec<String>> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::Config(format!("The labels file is not UTF-8 text (byte {}).", e.valid_up_to()))
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let labels = match text.trim_start().chars().next() {
        Some('[' | '{') => from_json(text)?,
        _ => from_lines(text),
    };
    if labels.is_empty() {
        return Err(Error::Config("The labels file has no labels.".into()));
    }
    if labels.len() > MAX_LABELS {
        return Err(Error::Config(format!(
            "The labels file has {} labels; Glimpse reads at most {MAX_LABELS}.",
            labels.len()
        )));
    }
    Ok(labels)
}

fn from_lines(text: &str) -> Vec<String> {
    let mut labels: Vec<String> =
        text.lines().map(|line| without_wordnet_id(line.trim()).to_string()).collect();
    while labels.last().is_some_and(String::is_empty) {
        labels.pop();
    }
    labels
}

/// `n01440764 tench, Tinca tinca` → `tench, Tinca tinca`.
fn without_wordnet_id(line: &str) -> &str {
    match line.split_once(' ') {
        Some((id, rest))
            if id.len() == 9
                && id.strip_prefix('n').is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit())) =>
        {
            rest.trim()
        }
        _ => line,
    }
}

fn from_json(text: &str) -> Result<Vec<String>> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::Config(format!("The labels file is not valid JSON: {e}.")))?;
    match value {
        Value::Array(items) => items.iter().enumerate().map(|(i, item)| label(item, i)).collect(),
        Value::Object(map) => {
            // `{"id2label": {...}}` (a Hugging Face config) or the map itself.
            let map = match map.get("id2label") {
                Some(Value::Object(inner)) => inner.clone(),
                _ => map,
            };
            let mut indexed = Vec::with_capacity(map.len());
            for (key, item) in &map {
                let index: usize = key.trim().parse().map_err(|_| {
                    Error::Config(format!(
                        "The labels file maps \"{key}\" to a label; its keys must be class indices (0, 1, …)."
                    ))
                })?;
                indexed.push((index, label(item, index)?));
            }
            indexed.sort_by_key(|(i, _)| *i);
            for (expected, (index, _)) in indexed.iter().enumerate() {
                if *index != expected {
                    return Err(Error::Config(format!(
                        "The labels file has no label for class {expected} (its classes must run 0, 1, 2, … \
                         without gaps)."
                    )));
                }
            }
            Ok(indexed.into_iter().map(|(_, l)| l).collect())
        }
        _ => Err(Error::Config("The labels file's JSON is neither a list nor an object of labels.".into())),
    }
}

/// One JSON label: a string, or `[wordnet id, label]` (the last string wins).
fn label(item: &Value, index: usize) -> Result<String> {
    match item {
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => match parts.iter().rev().find_map(Value::as_str) {
            Some(s) => Ok(s.to_string()),
            None => Err(not_a_label(index)),
        },
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(not_a_label(index)),
    }
}

fn not_a_label(index: usize) -> Error {
    Error::Config(format!("The labels file's entry for class {index} is not a label (a string)."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_common_form() {
        assert_eq!(read(b"cat\ndog\n\n").unwrap(), ["cat", "dog"]);
        assert_eq!(read(b"cat\r\n\r\ndog").unwrap(), ["cat", "", "dog"], "an inner blank line is a class");
        assert_eq!(
            read(b"n01440764 tench, Tinca tinca\nn01443537 goldfish").unwrap(),
            ["tench, Tinca tinca", "goldfish"]
        );
        assert_eq!(read(b"\xef\xbb\xbf[\"a\", \"b\"]").unwrap(), ["a", "b"]);
        assert_eq!(read(br#"{"1": "b", "0": "a", "10": "k", "2": "c", "3": "d", "4": "e", "5": "f", "6": "g", "7": "h", "8": "i", "9": "j"}"#).unwrap().last().unwrap(), "k");
        assert_eq!(
            read(br#"{"id2label": {"0": "NEGATIVE", "1": "POSITIVE"}}"#).unwrap(),
            ["NEGATIVE", "POSITIVE"]
        );
        assert_eq!(
            read(br#"{"0": ["n01440764", "tench"], "1": ["n01443537", "goldfish"]}"#).unwrap(),
            ["tench", "goldfish"]
        );
    }

    #[test]
    fn refuses_what_is_not_labels() {
        let message = |bytes: &[u8]| read(bytes).unwrap_err().to_string();
        assert!(message(b"").contains("no labels"));
        assert!(message(b"\n\n").contains("no labels"));
        assert!(message(b"\xff\xfe").contains("not UTF-8"));
        assert!(message(b"[1, {}]").contains("class 1"));
        assert!(message(br#"{"0": "a", "2": "c"}"#).contains("no label for class 1"));
        assert!(message(br#"{"zero": "a"}"#).contains("class indices"));
        assert!(message(b"{\"0\": ").contains("not valid JSON"));
        assert!(message(b"[").contains("not valid JSON"));
        assert!(message(b"{}").contains("no labels"));
    }
}
