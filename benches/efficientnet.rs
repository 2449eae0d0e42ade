//! EfficientNet-Lite0 natively: one forward pass, and one forward plus backward pass (the
//! gradient of one logit with respect to the input).
//! Run: `cargo bench --bench efficientnet`. Figures go in BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion};
use glimpse::grad::{GradModel, Mode, Target};
use glimpse::Model;

const ONNX: &[u8] = include_bytes!("../models/efficientnet-lite0.onnx");

fn efficientnet(c: &mut Criterion) {
    let input = glimpse::tensor::from_npy(include_bytes!("../tests/data/chelsea_input.npy")).unwrap();
    let model = Model::from_bytes(ONNX).unwrap();
    let grad_model = GradModel::from_bytes(ONNX, &[]).unwrap();
    let mut group = c.benchmark_group("efficientnet-lite0");
    group.sample_size(20);
    group.bench_function("forward", |b| b.iter(|| model.run(input.clone()).unwrap()));
    group.bench_function("forward with exposed tensors", |b| {
        b.iter(|| grad_model.model().run_all(input.clone()).unwrap())
    });
    group.bench_function("forward + backward", |b| {
        b.iter(|| grad_model.gradients(input.clone(), &Target::Index(282), Mode::Plain).unwrap())
    });
    group.finish();
}

criterion_group!(benches, efficientnet);
criterion_main!(benches);
