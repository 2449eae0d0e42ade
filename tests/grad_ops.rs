//! Every operator's vector–Jacobian product against central finite differences.
//!
//! Each case in `data/grad_ops/` (made by `data/make_grad_op_models.py`) is a one- or few-node
//! ONNX model and a point away from its kinks. The target is a seeded random weighting of the
//! output, L(x) = Σ wᵢ yᵢ(x); its gradient from the engine must equal
//! (L(x + h·eⱼ) − L(x − h·eⱼ)) / 2h for every input element j. tract computes in f32, so h is
//! 1e-2 and the tolerance is relative to the gradient's scale.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use glimpse::grad::{GradModel, Mode, Target};
use ndarray::ArrayD;

/// A small deterministic generator (SplitMix64), so the weights are the same on every run.
struct SplitMix(u64);

impl SplitMix {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

fn weighted_output(model: &GradModel, x: &ArrayD<f32>, w: &[f32]) -> f64 {
    let y = model.model().run(x.clone()).unwrap();
    let row = w.len();
    y.iter().enumerate().map(|(i, &v)| f64::from(v) * f64::from(w[i % row])).sum()
}

fn check_case(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).unwrap();
    let x = glimpse::tensor::from_npy(&std::fs::read(path.with_extension("npy")).unwrap()).unwrap();
    let model = GradModel::from_bytes(&bytes, &[]).map_err(|e| e.to_string())?;

    let y = model.model().run(x.clone()).map_err(|e| e.to_string())?;
    let row: usize = y.shape().iter().skip(1).product();
    let mut rng = SplitMix(42);
    let w: Vec<f32> = (0..row).map(|_| rng.next_f32()).collect();
    let target = Target::Weights(ArrayD::from_shape_vec(vec![row], w.clone()).unwrap());
    let grads = model.gradients(x.clone(), &target, Mode::Plain).map_err(|e| e.to_string())?;
    if grads.input.shape() != x.shape() {
        return Err(format!("gradient shape {:?} != input shape {:?}", grads.input.shape(), x.shape()));
    }

    let h = 1e-2f32;
    let scale = grads.input.iter().fold(1f32, |m, g| m.max(g.abs()));
    let mut worst = (0.0f32, 0usize, 0.0f64, 0.0f32);
    for j in 0..x.len() {
        let mut plus = x.clone();
        let mut minus = x.clone();
        plus.as_slice_mut().unwrap()[j] += h;
        minus.as_slice_mut().unwrap()[j] -= h;
        let fd =
            (weighted_output(&model, &plus, &w) - weighted_output(&model, &minus, &w)) / (2.0 * f64::from(h));
        let g = grads.input.as_slice().unwrap()[j];
        let err = (fd as f32 - g).abs() / scale;
        if err > worst.0 {
            worst = (err, j, fd, g);
        }
    }
    if worst.0 > 2e-3 {
        return Err(format!(
            "element {}: finite difference {:.6} vs gradient {:.6} (error {:.2e} of scale {scale:.3})",
            worst.1, worst.2, worst.3, worst.0
        ));
    }
    Ok(())
}

#[test]
fn every_operator_matches_finite_differences() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/grad_ops");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some("onnx".as_ref()))
        .collect();
    cases.sort();
    assert!(cases.len() >= 60, "expected the generated cases, found {}", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|p| {
            check_case(p).err().map(|e| format!("{}: {e}", p.file_stem().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn model(name: &str) -> (GradModel, ArrayD<f32>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/grad_ops");
    let bytes = std::fs::read(dir.join(format!("{name}.onnx"))).unwrap();
    let x = glimpse::tensor::from_npy(&std::fs::read(dir.join(format!("{name}.npy"))).unwrap()).unwrap();
    (GradModel::from_bytes(&bytes, &[]).unwrap(), x)
}

#[test]
fn max_pool_ties_send_the_gradient_to_the_first_maximum() {
    // 2×2 windows, stride 2, over a constant image: every window is a four-way tie.
    let (model, x) = model("max_pool_ceil");
    let ones = ArrayD::from_elem(x.shape(), 1.0f32);
    let grads = model.gradients(ones, &Target::Index(0), Mode::Plain).unwrap();
    let g = &grads.input;
    assert_eq!(g[[0, 0, 0, 0]], 1.0);
    assert_eq!(g.iter().filter(|&&v| v != 0.0).count(), 2, "one element per batch item");
    assert_eq!(g[[1, 0, 0, 0]], 1.0);
}

#[test]
fn guided_relu_passes_only_positive_gradients_where_the_input_was_positive() {
    let (model, x) = model("relu");
    let row: usize = x.shape().iter().skip(1).product();
    let w: Vec<f32> = (0..row).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    let target = Target::Weights(ArrayD::from_shape_vec(vec![row], w.clone()).unwrap());
    let plain = model.gradients(x.clone(), &target, Mode::Plain).unwrap().input;
    let guided = model.gradients(x.clone(), &target, Mode::Guided).unwrap().input;
    for (i, ((&xi, &p), &g)) in x.iter().zip(&plain).zip(&guided).enumerate() {
        let wi = w[i % row];
        assert_eq!(p, if xi > 0.0 { wi } else { 0.0 });
        assert_eq!(g, if xi > 0.0 && wi > 0.0 { wi } else { 0.0 });
    }
}

#[test]
fn a_model_with_an_operator_without_gradient_names_it() {
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/no_vjp.onnx")).unwrap();
    match GradModel::from_bytes(&bytes, &[]) {
        Err(glimpse::Error::NotDifferentiable(ops)) => assert_eq!(ops, ["Cos"]),
        other => panic!("expected NotDifferentiable, got {other:?}"),
    }
    // The same model still runs forwards, for the perturbation methods.
    assert!(glimpse::Model::from_bytes(&bytes).is_ok());
}
