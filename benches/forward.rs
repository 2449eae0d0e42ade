//! One forward pass of the bundled EfficientNet-Lite0, natively.
//! Run: `cargo bench --bench forward`. Figures go in BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion};
use glimpse::Model;

fn forward(c: &mut Criterion) {
    let model = Model::from_bytes(include_bytes!("../models/efficientnet-lite0.onnx")).unwrap();
    let input = glimpse::tensor::from_npy(include_bytes!("../tests/data/chelsea_input.npy")).unwrap();
    let mut group = c.benchmark_group("efficientnet-lite0");
    group.sample_size(30);
    group.bench_function("forward, batch 1", |b| b.iter(|| model.run(input.clone()).unwrap()));
    group.finish();
}

criterion_group!(benches, forward);
criterion_main!(benches);
