//! EfficientNet-Lite0 natively: one forward pass, one forward plus backward pass (the gradient
//! of one logit with respect to the input), and every explanation method at its defaults.
//! Run: `cargo bench --bench efficientnet`. Figures go in BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion};
use glimpse::explain::{Explainer, Method, Subject};
use glimpse::grad::{GradModel, Mode, Target};
use glimpse::{Model, ModelConfig};

const ONNX: &[u8] = include_bytes!("../models/efficientnet-lite0.onnx");

fn chelsea() -> ndarray::ArrayD<f32> {
    glimpse::tensor::from_npy(include_bytes!("../tests/data/chelsea_input.npy")).unwrap()
}

fn passes(c: &mut Criterion) {
    let input = chelsea();
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

fn methods(c: &mut Criterion) {
    let explainer = Explainer::from_bytes(ONNX).unwrap();
    let config = ModelConfig::from_json(include_bytes!("../models/efficientnet-lite0.json")).unwrap();
    let subject =
        Subject { input: chelsea(), target: 282, pixels: Some(config.preprocess), custom_baseline: None };
    let mut group = c.benchmark_group("methods at their defaults");
    group.sample_size(10);
    for method in Method::all() {
        // The first call prepares the per-layer models of the CAM methods.
        explainer.explain(&subject, &method, &mut |_, _| {}).unwrap();
        let mut seed = 0;
        group.bench_function(method.name(), |b| {
            b.iter(|| {
                // A new seed each time: the explainer would otherwise reuse SmoothGrad's passes.
                seed += 1;
                explainer.explain(&subject, &reseeded(&method, seed), &mut |_, _| {}).unwrap()
            })
        });
    }
    group.finish();
}

fn reseeded(method: &Method, seed: u64) -> Method {
    let mut settings = method.settings().values().clone();
    if let Some(value) = settings.get_mut("seed") {
        *value = seed.into();
    }
    Method::new(method.name(), settings.into()).unwrap()
}

criterion_group!(benches, passes, methods);
criterion_main!(benches);
