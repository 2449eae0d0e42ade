//! The MiniLM sentiment model natively: one forward pass of the reading model (64 positions),
//! one gradient pass on the embedding model, and every text method at its defaults on a short
//! sentence and on the long review (64 tokens after truncation).
//! Run: `cargo bench --bench minilm`. Figures go in BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion};
use glimpse::grad::{Mode, Target};
use glimpse::text::{TextMethod, TextModel};

fn model() -> TextModel {
    TextModel::from_bytes(
        include_bytes!("../models/minilm-sentiment.onnx"),
        include_bytes!("../models/minilm-sentiment.json"),
        include_bytes!("../models/minilm-tokenizer.json"),
    )
    .unwrap()
}

fn passes(c: &mut Criterion) {
    let model = model();
    let reading = model.read("not bad at all").unwrap();
    let ids = TextModel::ids_tensor(&reading.encoding.ids);
    let explainer = model.embedding_explainer(&reading.encoding).unwrap();
    let gradients = explainer.gradient_model().unwrap();
    let mut group = c.benchmark_group("minilm-sentiment");
    group.sample_size(20);
    group.bench_function("forward (reading model)", |b| {
        b.iter(|| model.reading_model().run(ids.clone()).unwrap())
    });
    group.bench_function("forward + backward (embedding model)", |b| {
        b.iter(|| gradients.gradients(reading.embeddings.clone(), &Target::Index(1), Mode::Plain).unwrap())
    });
    group.finish();
}

fn methods(c: &mut Criterion) {
    let model = model();
    let examples = &model.config.examples;
    let review = examples.iter().max_by_key(|e| e.len()).unwrap().clone();
    for (name, text) in [("not bad at all", "not bad at all".to_owned()), ("review", review)] {
        let mut sentence = model.sentence(&text).unwrap();
        let mut group = c.benchmark_group(format!("text methods at their defaults, {name}"));
        group.sample_size(10);
        for method in TextMethod::all() {
            // KernelSHAP on the review spends 2172 passes: one sample is a minute.
            if name == "review" && matches!(method.name(), "kernel-shap" | "lime") {
                continue;
            }
            group.bench_function(method.name(), |b| {
                b.iter(|| model.explain(&mut sentence, &method, 1, &mut |_, _| {}).unwrap())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, passes, methods);
criterion_main!(benches);
