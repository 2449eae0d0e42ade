//! Every gradient method against its closed form on linear and toy models, against Captum 0.9
//! and pytorch-grad-cam on a small CNN and on EfficientNet-Lite0 (references and the script
//! that made them in `data/explain/`), and its axioms: IG completeness, determinism under a
//! seed. Runs natively and, unchanged, in headless Chromium.

mod common;
use common::{npy, relative_l2};

use glimpse::explain::summed::chunks;
use glimpse::explain::{
    smoothgrad, Attribution, Baseline, Explainer, Fill, Integration, KernelShapConfig, LayerConfig,
    LimeConfig, Method, NoiseConfig, OcclusionConfig, PathConfig, PathSampledConfig, Plan, RiseConfig, Rule,
    SegmentFill, Subject, Sums, SuperpixelConfig,
};
use glimpse::ModelConfig;
use ndarray::{ArrayD, Axis};
use serde_json::Value as Json;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn references() -> Json {
    serde_json::from_str(include_str!("data/explain/references.json")).unwrap()
}

fn max_abs_diff(got: &ArrayD<f32>, want: &ArrayD<f32>) -> f32 {
    assert_eq!(got.shape(), want.shape());
    got.iter().zip(want).map(|(g, w)| (g - w).abs()).fold(0.0, f32::max)
}

fn explain(explainer: &Explainer, subject: &Subject, method: Method) -> Attribution {
    explainer.explain(subject, &method, &mut |_, _| {}).unwrap()
}

fn subject(input: ArrayD<f32>, target: usize) -> Subject {
    Subject { input, target, pixels: None, custom_baseline: None }
}

fn ig(steps: usize, rule: Rule, baseline: Baseline) -> Method {
    Method::with("integrated-gradients", &PathConfig { steps, rule, baseline, seed: 0, tolerance: None })
        .unwrap()
}

const RULES: [Rule; 5] =
    [Rule::GaussLegendre, Rule::RiemannLeft, Rule::RiemannRight, Rule::RiemannMiddle, Rule::RiemannTrapezoid];

// ---- closed forms -----------------------------------------------------------------------------

/// The IG paper's toy model f(x1, x2) = ReLU(ReLU(x1) − 1 − ReLU(x2)) at (3, 1) from (0, 0):
/// IG = (1.5, −0.5). The kink sits at α = ½, between midpoints, so the midpoint rule is exact.
#[test]
fn integrated_gradients_solve_the_papers_toy_model() {
    let explainer = Explainer::from_bytes(include_bytes!("data/explain/toy_relu.onnx")).unwrap();
    let s = subject(ArrayD::from_shape_vec(vec![1, 2], vec![3.0, 1.0]).unwrap(), 0);
    let exact = explain(&explainer, &s, ig(50, Rule::RiemannMiddle, Baseline::Black));
    assert_eq!(exact.map.as_slice().unwrap(), &[1.5, -0.5]);
    let check = exact.completeness.unwrap();
    assert_eq!((check.sum, check.expected), (1.0, 1.0));
    let gauss = explain(&explainer, &s, ig(50, Rule::GaussLegendre, Baseline::Black));
    let [a, b] = [gauss.map[[0, 0]], gauss.map[[0, 1]]];
    assert!((a - 1.5).abs() < 0.05 && (b + 0.5).abs() < 0.02, "Gauss–Legendre across a kink: {a}, {b}");

    // Σφ is exactly f(x) − f(x′) here even though each φᵢ is off: the two errors cancel. The
    // completeness check cannot see that, so refinement (which the default tolerance asks for)
    // does not start.
    let defaults =
        explain(&explainer, &s, Method::with("integrated-gradients", &PathConfig::default()).unwrap());
    assert_eq!(defaults.map, gauss.map);
}

/// y = W·x + b: the gradient is W[c]; Gradient × Input is x ⊙ W[c]; IG is (x − x′) ⊙ W[c] under
/// every rule and complete; path-sampled IG is half of it; SmoothGrad is W[c], SmoothGrad² is
/// W[c]², VarGrad is 0; with no rectifier Guided Backprop is the gradient.
#[test]
fn linear_model_gives_the_closed_forms() {
    let explainer = Explainer::from_bytes(include_bytes!("data/explain/linear.onnx")).unwrap();
    let weight = npy(include_bytes!("data/explain/linear_weight.npy"));
    let target = 2;
    let w = weight.index_axis(Axis(0), target).to_owned().into_shape_with_order(vec![1, 3, 4, 4]).unwrap();
    let x = ArrayD::from_shape_fn(vec![1, 3, 4, 4], |i| {
        (i[1] as f32 - 1.0) * 0.7 + i[2] as f32 * 0.3 - i[3] as f32 * 0.2
    });
    let mut s = subject(x.clone(), target);
    let close = |got: &ArrayD<f32>, want: &ArrayD<f32>, what: &str| {
        let err = max_abs_diff(got, want);
        assert!(err < 1e-5, "{what}: max |error| {err}");
    };

    close(&explain(&explainer, &s, Method::from_name("gradient").unwrap()).map, &w, "gradient");
    close(&explain(&explainer, &s, Method::from_name("guided-backprop").unwrap()).map, &w, "guided backprop");
    close(
        &explain(&explainer, &s, Method::from_name("grad-x-input").unwrap()).map,
        &(&x * &w),
        "grad × input",
    );

    let custom = ArrayD::from_shape_fn(x.raw_dim(), |i| (i[3] as f32 * 0.5).sin());
    s.custom_baseline = Some(custom.clone());
    for rule in RULES {
        let attribution = explain(&explainer, &s, ig(7, rule, Baseline::Custom));
        close(&attribution.map, &((&x - &custom) * &w), &format!("IG {rule:?}"));
        let check = attribution.completeness.unwrap();
        assert!(check.error().abs() < 1e-4, "IG {rule:?} completeness {check:?}");
    }
    let config = PathSampledConfig { baseline: Baseline::Custom, ..Default::default() };
    let attribution = explain(&explainer, &s, Method::with("path-sampled-ig", &config).unwrap());
    close(&attribution.map, &((&x - &custom) * &w / 2.0), "path-sampled IG");
    let check = attribution.completeness.unwrap();
    assert!(check.error().abs() < 1e-4, "path-sampled IG completeness {check:?}");

    let noise = NoiseConfig { samples: 5, sigma: 0.3, seed: 1 };
    close(
        &explain(&explainer, &s, Method::with("smoothgrad", &noise.clone()).unwrap()).map,
        &w,
        "smoothgrad",
    );
    close(
        &explain(&explainer, &s, Method::with("smoothgrad-sq", &noise.clone()).unwrap()).map,
        &(&w * &w),
        "smoothgrad²",
    );
    close(
        &explain(&explainer, &s, Method::with("vargrad", &noise).unwrap()).map,
        &ArrayD::zeros(w.raw_dim()),
        "vargrad",
    );
}

/// Occlusion with 0 fill and windows that tile the image: each pixel's map value is its
/// window's contribution Σ W[c]·x over the window's pixels and channels.
#[test]
fn occlusion_of_a_linear_model_is_each_windows_contribution() {
    let explainer = Explainer::from_bytes(include_bytes!("data/explain/linear.onnx")).unwrap();
    let weight = npy(include_bytes!("data/explain/linear_weight.npy"));
    let target = 4;
    let x = ArrayD::from_shape_fn(vec![1, 3, 4, 4], |i| ((i[1] * 16 + i[2] * 4 + i[3]) as f32 * 0.61).cos());
    let w = |c: usize, h: usize, v: usize| weight[[target, c * 16 + h * 4 + v]];
    let config = OcclusionConfig { window: 2, stride: 2, fill: Fill::Zero };
    let map =
        explain(&explainer, &subject(x.clone(), target), Method::with("occlusion", &config).unwrap()).map;
    let want = ArrayD::from_shape_fn(vec![1, 3, 4, 4], |i| {
        let (top, left) = (i[2] / 2 * 2, i[3] / 2 * 2);
        let mut sum = 0.0;
        for c in 0..3 {
            for h in top..top + 2 {
                for v in left..left + 2 {
                    sum += w(c, h, v) * x[[0, c, h, v]];
                }
            }
        }
        sum
    });
    assert!(max_abs_diff(&map, &want) < 1e-5, "{map:?}");
}

/// 1×1 conv → global average pool → linear: CAM is Σ_k W[c,k]·A_k and its mean plus the bias
/// is the logit; Grad-CAM is ReLU(CAM) / (H·W).
#[test]
fn linear_cnn_gives_cam_in_closed_form() {
    let explainer = Explainer::from_bytes(include_bytes!("data/explain/linear_cnn.onnx")).unwrap();
    let conv_w = npy(include_bytes!("data/explain/linear_cnn_conv_weight.npy"));
    let conv_b = npy(include_bytes!("data/explain/linear_cnn_conv_bias.npy"));
    let fc_w = npy(include_bytes!("data/explain/linear_cnn_fc_weight.npy"));
    let fc_b = npy(include_bytes!("data/explain/linear_cnn_fc_bias.npy"));
    let x = ArrayD::from_shape_fn(vec![1, 3, 8, 8], |i| ((i[1] * 64 + i[2] * 8 + i[3]) as f32 * 0.37).sin());
    let target = 1;
    let s = subject(x.clone(), target);

    let want = ArrayD::from_shape_fn(vec![1, 1, 8, 8], |i| {
        (0..4)
            .map(|k| {
                let a =
                    conv_b[[k]] + (0..3).map(|c| conv_w[[k, c, 0, 0]] * x[[0, c, i[2], i[3]]]).sum::<f32>();
                fc_w[[target, k]] * a
            })
            .sum()
    });
    let cam = explain(&explainer, &s, Method::from_name("cam").unwrap());
    assert_eq!(cam.layer.as_deref(), Some(references()["linear_cnn"]["layer"].as_str().unwrap()));
    assert!(max_abs_diff(&cam.map, &want) < 1e-5);
    let logit = explainer.forward().run(x).unwrap()[[0, target]];
    assert!((cam.map.mean().unwrap() + fc_b[[target]] - logit).abs() < 1e-5);

    let grad_cam = explain(&explainer, &s, Method::with("grad-cam", &LayerConfig::default()).unwrap());
    assert!(max_abs_diff(&grad_cam.map, &(want.mapv(|v| v.max(0.0)) / 64.0)) < 1e-6);
}

// ---- Captum and pytorch-grad-cam ---------------------------------------------------------------

fn small_cnn() -> (Explainer, Subject) {
    let explainer = Explainer::from_bytes(include_bytes!("data/explain/small_cnn_gap.onnx")).unwrap();
    let mut s = subject(npy(include_bytes!("data/explain/small_cnn_gap_input.npy")), 3);
    s.custom_baseline = Some(npy(include_bytes!("data/explain/small_cnn_gap_baseline.npy")));
    (explainer, s)
}

fn assert_matches(got: &Attribution, want: &[u8], what: &str) {
    let err = relative_l2(&got.map, &npy(want));
    assert!(err < 1e-3, "{what}: relative L2 error {err}");
}

#[test]
fn small_cnn_matches_captum_and_pytorch_grad_cam() {
    let (explainer, s) = small_cnn();
    let refs = &references()["small_cnn_gap"];
    assert_matches(
        &explain(&explainer, &s, Method::from_name("gradient").unwrap()),
        include_bytes!("data/explain/small_cnn_gap_saliency.npy"),
        "saliency",
    );
    assert_matches(
        &explain(&explainer, &s, Method::from_name("grad-x-input").unwrap()),
        include_bytes!("data/explain/small_cnn_gap_input_x_gradient.npy"),
        "input × gradient",
    );
    assert_matches(
        &explain(&explainer, &s, Method::from_name("guided-backprop").unwrap()),
        include_bytes!("data/explain/small_cnn_gap_guided_backprop.npy"),
        "guided backprop",
    );

    let layer = refs["layer"].as_str().unwrap();
    assert_eq!(explainer.default_layer().unwrap(), layer, "the default layer feeds the global pool");
    let cam = explain(&explainer, &s, Method::from_name("cam").unwrap());
    assert_matches(&cam, include_bytes!("data/explain/small_cnn_gap_cam.npy"), "CAM");
    let named = LayerConfig { layer: Some(layer.to_owned()) };
    let grad_cam = explain(&explainer, &s, Method::with("grad-cam", &named.clone()).unwrap());
    assert_matches(&grad_cam, include_bytes!("data/explain/small_cnn_gap_grad_cam.npy"), "Grad-CAM");
    assert_eq!(grad_cam.map.shape(), &[1, 1, 16, 16], "at the layer's resolution");
    let plus = explain(&explainer, &s, Method::with("grad-cam-pp", &named).unwrap());
    assert_matches(&plus, include_bytes!("data/explain/small_cnn_gap_grad_cam_pp.npy"), "Grad-CAM++");
}

#[test]
fn occlusion_matches_captum() {
    let (explainer, s) = small_cnn();
    let config = OcclusionConfig { window: 6, stride: 4, fill: Fill::Zero };
    let attribution = explain(&explainer, &s, Method::with("occlusion", &config).unwrap());
    assert_matches(&attribution, include_bytes!("data/explain/small_cnn_gap_occlusion_6_4.npy"), "small CNN");
    let (explainer, s) = efficientnet();
    let config = OcclusionConfig { window: 32, stride: 16, fill: Fill::Zero };
    let attribution = explain(&explainer, &s, Method::with("occlusion", &config).unwrap());
    assert_matches(
        &attribution,
        include_bytes!("data/explain/efficientnet_occlusion_32_16.npy"),
        "EfficientNet",
    );
}

/// RISE: with every cell kept, every mask is all ones and the map is P(class | x) everywhere;
/// the same seed gives the same map, another seed another.
#[test]
fn rise_keeps_its_closed_form_and_its_seed() {
    let (explainer, s) = small_cnn();
    let logits = explainer.forward().run(s.input.clone()).unwrap();
    let row: Vec<f32> = logits.iter().copied().collect();
    let total: f32 = row.iter().map(|v| v.exp()).sum();
    let probability = row[s.target].exp() / total;
    let all_kept = RiseConfig { masks: 3, grid: 4, keep: 1.0, seed: 0 };
    let map = explain(&explainer, &s, Method::with("rise", &all_kept).unwrap()).map;
    assert!(map.iter().all(|&v| (v - probability).abs() < 1e-6), "P = {probability}");

    let run = |seed| {
        explain(
            &explainer,
            &s,
            Method::with("rise", &RiseConfig { masks: 40, seed, ..Default::default() }).unwrap(),
        )
        .map
    };
    let first = run(1);
    assert_eq!(run(1), first);
    assert_ne!(run(2), first);
    // Each pixel is a probability-weighted mean of masks near p: between 0 and max P / p.
    assert!(first.iter().all(|&v| (0.0..=2.0).contains(&v)));
}

/// The labels of a map on superpixels, checked: every pixel's value is its segment's score.
fn segment_scores(attribution: &Attribution) -> (ndarray::Array2<u32>, Vec<f32>) {
    let segments = attribution.segments.clone().expect("a map on superpixels");
    for ((y, x), &label) in segments.labels.indexed_iter() {
        assert_eq!(attribution.map[[0, 0, y, x]], segments.scores[label as usize]);
    }
    (segments.labels, segments.scores)
}

/// The small CNN on a smooth image (its reference input is noise, where any segmentation is
/// arbitrary).
fn small_cnn_on_a_smooth_image() -> (Explainer, Subject) {
    let (explainer, mut s) = small_cnn();
    s.input = ArrayD::from_shape_fn(vec![1, 3, 32, 32], |i| {
        let (c, y, x) = (i[1] as f32, i[2] as f32, i[3] as f32);
        (x * 0.21 + c).sin() + (y * 0.17 - c).cos() + if x + y > 36.0 { 0.8 } else { 0.0 }
    });
    (explainer, s)
}

/// The input with the segments not in `present` set to 0 (black fill for a model whose input is
/// not pixels).
fn keep_segments(x: &ArrayD<f32>, labels: &ndarray::Array2<u32>, present: &[bool]) -> ArrayD<f32> {
    ArrayD::from_shape_fn(x.raw_dim(), |i| if present[labels[[i[2], i[3]]] as usize] { x[i] } else { 0.0 })
}

/// y = W·x + b is linear in which segments are present, with each segment's coefficient
/// Σ W[c]·x over its pixels and channels: LIME without a ridge penalty recovers it exactly, and
/// R² is 1.
#[test]
fn lime_recovers_a_linear_models_coefficients() {
    let explainer = Explainer::from_bytes(include_bytes!("data/explain/linear.onnx")).unwrap();
    let weight = npy(include_bytes!("data/explain/linear_weight.npy"));
    let target = 1;
    let x = ArrayD::from_shape_fn(vec![1, 3, 4, 4], |i| ((i[1] * 16 + i[2] * 4 + i[3]) as f32 * 0.83).sin());
    let config = LimeConfig {
        superpixels: SuperpixelConfig { segments: 4, compactness: 10.0 },
        fill: SegmentFill::Black,
        samples: 200,
        ridge: 0.0,
        ..Default::default()
    };
    let lime = explain(&explainer, &subject(x.clone(), target), Method::with("lime", &config).unwrap());
    let (labels, scores) = segment_scores(&lime);
    assert!(scores.len() >= 2, "{} segments", scores.len());
    let mut want = vec![0.0f32; scores.len()];
    for ((y, v), &label) in labels.indexed_iter() {
        for c in 0..3 {
            want[label as usize] += weight[[target, c * 16 + y * 4 + v]] * x[[0, c, y, v]];
        }
    }
    for (got, want) in scores.iter().zip(&want) {
        assert!((got - want).abs() < 1e-4, "{scores:?} against {want:?}");
    }
    let r2 = lime.segments.unwrap().r_squared.unwrap();
    assert!((r2 - 1.0).abs() < 1e-5, "R² = {r2}");
}

/// With few segments the budget covers every coalition, and KernelSHAP gives the exact Shapley
/// values, computed here from the model's value on every coalition.
#[test]
fn kernel_shap_with_few_segments_is_exact_shapley() {
    let (explainer, s) = small_cnn_on_a_smooth_image();
    let config = KernelShapConfig {
        superpixels: SuperpixelConfig { segments: 6, compactness: 10.0 },
        fill: SegmentFill::Black,
        ..Default::default()
    };
    let shap = explain(&explainer, &s, Method::with("kernel-shap", &config).unwrap());
    let (labels, phi) = segment_scores(&shap);
    let m = phi.len();
    assert!((3..=10).contains(&m), "{m} segments");
    let value = |coalition: usize| -> f64 {
        let present: Vec<bool> = (0..m).map(|j| coalition >> j & 1 == 1).collect();
        let input = keep_segments(&s.input, &labels, &present);
        f64::from(explainer.forward().run(input).unwrap()[[0, s.target]])
    };
    let values: Vec<f64> = (0..1usize << m).map(value).collect();
    let factorial = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
    for (i, &got) in phi.iter().enumerate() {
        let exact: f64 = (0..1usize << m)
            .filter(|c| c >> i & 1 == 0)
            .map(|c| {
                let size = c.count_ones() as usize;
                let weight = factorial(size) * factorial(m - size - 1) / factorial(m);
                weight * (values[c | 1 << i] - values[c])
            })
            .sum();
        assert!(
            (f64::from(got) - exact).abs() < 1e-4 * exact.abs().max(1e-2),
            "segment {i}: {got} against {exact}"
        );
    }
}

/// With many segments KernelSHAP samples, and Σφ = f(x) − f(∅) still holds to 1e-5.
#[test]
fn kernel_shap_is_efficient() {
    let (explainer, s) = small_cnn_on_a_smooth_image();
    let config = KernelShapConfig {
        superpixels: SuperpixelConfig { segments: 40, compactness: 10.0 },
        fill: SegmentFill::Black,
        ..Default::default()
    };
    let shap = explain(&explainer, &s, Method::with("kernel-shap", &config).unwrap());
    let (labels, phi) = segment_scores(&shap);
    assert!(phi.len() > 20, "{} segments: sampled, not enumerated", phi.len());
    let f = |present: bool| {
        let input = keep_segments(&s.input, &labels, &vec![present; phi.len()]);
        explainer.forward().run(input).unwrap()[[0, s.target]]
    };
    let expected = f(true) - f(false);
    let sum: f32 = phi.iter().sum();
    assert!((sum - expected).abs() <= 1e-5 * expected.abs(), "Σφ = {sum}, f(x) − f(∅) = {expected}");
    let check = shap.completeness.unwrap();
    assert!((check.expected - expected).abs() <= 1e-5 * expected.abs());
    assert!(check.relative_error() <= 1e-5);
}

/// LIME and KernelSHAP: the same seed gives the same map, another seed another; and a plan
/// scored in slices (as the page's workers do) finishes to the same map as one scored whole.
#[test]
fn lime_and_kernel_shap_keep_their_seed_and_split_their_passes() {
    let (explainer, s) = small_cnn_on_a_smooth_image();
    let superpixels = SuperpixelConfig { segments: 30, compactness: 10.0 };
    let lime = |seed| {
        Method::with(
            "lime",
            &LimeConfig { superpixels: superpixels.clone(), samples: 120, seed, ..Default::default() },
        )
        .unwrap()
    };
    let shap = |seed| {
        let config = KernelShapConfig {
            superpixels: superpixels.clone(),
            budget: Some(150),
            seed,
            ..Default::default()
        };
        Method::with("kernel-shap", &config).unwrap()
    };
    let methods: [&dyn Fn(u64) -> Method; 2] = [&lime, &shap];
    for method in methods {
        let first = explain(&explainer, &s, method(1)).map;
        assert_eq!(explain(&explainer, &s, method(1)).map, first);
        assert_ne!(explain(&explainer, &s, method(2)).map, first);

        let plan = Plan::new(&explainer, &s, &method(1)).unwrap();
        let cut = plan.len() / 3;
        let mut scores = explainer.scores(&plan, cut..plan.len(), &mut |_, _| {}).unwrap();
        let mut head = explainer.scores(&plan, 0..cut, &mut |_, _| {}).unwrap();
        head.append(&mut scores);
        let again = Plan::new(&explainer, &s, &method(1)).unwrap();
        assert_eq!(again.finish(&head).unwrap().map, first);
    }
}

/// The summed gradient methods split their passes as the page's workers do: each round's chunks
/// summed in any order, by another explainer that only lays the method out (a helper worker),
/// then absorbed in order by a third, give the same map, bit for bit, as the method run whole.
#[test]
fn summed_methods_split_their_passes_bit_identically() {
    let (explainer, s) = small_cnn();
    let ig = PathConfig { steps: 6, tolerance: Some(0.001), ..Default::default() };
    let methods = [
        Method::with("integrated-gradients", &ig).unwrap(),
        Method::with("path-sampled-ig", &PathSampledConfig { steps: 7, ..Default::default() }).unwrap(),
        Method::with("vargrad", &NoiseConfig { samples: 13, sigma: 0.2, seed: 4 }).unwrap(),
    ];
    for method in methods {
        let whole = explain(&explainer, &s, method.clone());
        let ((primary, _), (helper, _)) = (small_cnn(), small_cnn());
        let mut run = Integration::new(&primary, &s, &method).unwrap();
        let mut rounds = 0;
        let split = loop {
            rounds += 1;
            let round = run.round().clone();
            let helping = Integration::new(&helper, &s, &method).unwrap();
            let mut parts: Vec<Sums> = chunks(round.nodes.len())
                .into_iter()
                .rev()
                .map(|range| helping.sums(&helper, &round.nodes, range, &mut |_, _| {}).unwrap())
                .collect();
            parts.reverse();
            if let Some(attribution) = run.absorb(&primary, parts).unwrap() {
                break attribution;
            }
        };
        assert_eq!(split.map, whole.map, "{method:?}");
        assert_eq!(split.completeness, whole.completeness, "{method:?}");
        if method.name() == "integrated-gradients" {
            assert!(rounds > 1, "IG refined its path ({rounds} rounds)");
        }
    }
}

/// A model the gradient engine cannot differentiate still loads: the gradient methods name the
/// operator in the way, and the forward-only methods are not stopped by it.
#[test]
fn a_model_without_gradients_loads_and_says_why() {
    let explainer = Explainer::from_bytes(include_bytes!("data/no_vjp.onnx")).unwrap();
    let s = subject(ArrayD::from_shape_vec(vec![1, 4], vec![0.1, 0.2, 0.3, 0.4]).unwrap(), 0);
    let err = explainer
        .explain(&s, &Method::from_name("gradient").unwrap(), &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("Cos"), "{err}");
    let err = explainer
        .explain(&s, &Method::with("occlusion", &OcclusionConfig::default()).unwrap(), &mut |_, _| {})
        .unwrap_err();
    assert!(err.to_string().contains("needs an image input"), "{err}");
}

#[test]
fn small_cnn_integrated_gradients_match_captum_under_every_rule() {
    let (explainer, s) = small_cnn();
    let refs = &references()["small_cnn_gap"]["ig"];
    let cases: [(Rule, usize, &str, &[u8]); 5] = [
        (
            Rule::GaussLegendre,
            50,
            "small_cnn_gap_ig_gausslegendre_50.npy",
            include_bytes!("data/explain/small_cnn_gap_ig_gausslegendre_50.npy"),
        ),
        (
            Rule::RiemannLeft,
            20,
            "small_cnn_gap_ig_riemann_left_20.npy",
            include_bytes!("data/explain/small_cnn_gap_ig_riemann_left_20.npy"),
        ),
        (
            Rule::RiemannRight,
            20,
            "small_cnn_gap_ig_riemann_right_20.npy",
            include_bytes!("data/explain/small_cnn_gap_ig_riemann_right_20.npy"),
        ),
        (
            Rule::RiemannMiddle,
            20,
            "small_cnn_gap_ig_riemann_middle_20.npy",
            include_bytes!("data/explain/small_cnn_gap_ig_riemann_middle_20.npy"),
        ),
        (
            Rule::RiemannTrapezoid,
            20,
            "small_cnn_gap_ig_riemann_trapezoid_20.npy",
            include_bytes!("data/explain/small_cnn_gap_ig_riemann_trapezoid_20.npy"),
        ),
    ];
    for (rule, steps, name, want) in cases {
        let attribution = explain(&explainer, &s, ig(steps, rule, Baseline::Custom));
        let mut want = npy(want);
        let mut captum_sum = refs[name]["sum"].as_f64().unwrap() as f32;
        if rule == Rule::RiemannTrapezoid {
            // Captum's trapezoid weights sum to (n − 1)/n; ours to 1 (see integrated_gradients.rs).
            let scale = steps as f32 / (steps - 1) as f32;
            want *= scale;
            captum_sum *= scale;
        }
        let err = relative_l2(&attribution.map, &want);
        assert!(err < 1e-3, "{name}: relative L2 error {err}");
        let ours = attribution.completeness.unwrap().sum;
        assert!((ours - captum_sum).abs() < 2e-5, "{name}: Σφ {ours}, Captum's {captum_sum}");
    }
}

/// With Captum's own noise, SmoothGrad, SmoothGrad² and VarGrad match NoiseTunnel exactly.
#[test]
fn small_cnn_smoothgrad_matches_captum_given_the_same_noise() {
    let (explainer, s) = small_cnn();
    let noise = npy(include_bytes!("data/explain/small_cnn_gap_smoothgrad_noise.npy"));
    let each = noise.outer_iter().map(|n| n.to_owned());
    let stats = smoothgrad::with_noise(&explainer, &s, each, &mut |_, _| {}).unwrap();
    let check = |got: ArrayD<f32>, want: &[u8], what: &str| {
        let err = relative_l2(&got, &npy(want));
        assert!(err < 1e-3, "{what}: relative L2 error {err}");
    };
    check(stats.mean(), include_bytes!("data/explain/small_cnn_gap_smoothgrad.npy"), "smoothgrad");
    check(stats.mean_square(), include_bytes!("data/explain/small_cnn_gap_smoothgrad_sq.npy"), "smoothgrad²");
    check(stats.variance(), include_bytes!("data/explain/small_cnn_gap_vargrad.npy"), "vargrad");
}

#[test]
fn the_same_seed_gives_the_same_map() {
    let (explainer, s) = small_cnn();
    let smoothgrad =
        |seed| Method::with("smoothgrad", &NoiseConfig { samples: 4, sigma: 0.15, seed }).unwrap();
    let run = |seed| explain(&explainer, &s, smoothgrad(seed)).map;
    // Seed 4 in between, so that seed 3 is computed again, not read from the explainer's cache.
    let (first, other) = (run(3), run(4));
    assert_ne!(first, other);
    assert_eq!(run(3), first);
    let (fresh, _) = small_cnn();
    assert_eq!(explain(&fresh, &s, smoothgrad(3)).map, first, "and in a fresh explainer");
    let noisy = |seed| {
        let config = PathConfig {
            steps: 4,
            rule: Rule::GaussLegendre,
            baseline: Baseline::Noise,
            seed,
            tolerance: None,
        };
        explain(&explainer, &s, Method::with("integrated-gradients", &config).unwrap()).map
    };
    assert_eq!(noisy(5), noisy(5));
    assert_ne!(noisy(5), noisy(6));
}

/// SmoothGrad, SmoothGrad² and VarGrad at the same settings share one set of gradient passes.
#[test]
fn the_smoothgrad_family_shares_its_passes() {
    let (explainer, s) = small_cnn();
    let config = NoiseConfig { samples: 5, sigma: 0.1, seed: 9 };
    let mut reports = 0;
    let mean = explainer
        .explain(&s, &Method::with("smoothgrad", &config.clone()).unwrap(), &mut |_, _| reports += 1)
        .unwrap();
    assert!(reports >= 5, "{reports} progress reports for 5 passes");
    reports = 0;
    let square = explainer
        .explain(&s, &Method::with("smoothgrad-sq", &config.clone()).unwrap(), &mut |_, _| reports += 1)
        .unwrap();
    assert_eq!(reports, 1, "only the final report: no passes ran");
    let variance = explainer.explain(&s, &Method::with("vargrad", &config).unwrap(), &mut |_, _| {}).unwrap();
    let implied = &square.map - &(&mean.map * &mean.map);
    assert!(max_abs_diff(&variance.map, &implied) < 1e-5, "VarGrad = E[g²] − E[g]²");
}

/// Path-sampled IG is IG averaged over baselines on the path: the nested average (20 baselines,
/// IG from each by the midpoint rule) converges to the same map as the single weighted sum.
#[test]
fn path_sampled_ig_is_ig_averaged_over_baselines_on_the_path() {
    let (explainer, mut s) = small_cnn();
    let origin = s.custom_baseline.clone().unwrap();
    let config =
        PathSampledConfig { steps: 400, rule: Rule::RiemannMiddle, baseline: Baseline::Custom, seed: 0 };
    let single = explain(&explainer, &s, Method::with("path-sampled-ig", &config).unwrap()).map;
    let betas = 20;
    let mut average = ArrayD::zeros(single.raw_dim());
    for j in 0..betas {
        let beta = (j as f32 + 0.5) / betas as f32;
        s.custom_baseline = Some(&origin + &((&s.input - &origin) * beta));
        average +=
            &(explain(&explainer, &s, ig(40, Rule::RiemannMiddle, Baseline::Custom)).map / betas as f32);
    }
    let err = relative_l2(&average, &single);
    assert!(err < 2e-2, "nested average against path-weighted IG: relative L2 {err}");
}

fn efficientnet() -> (Explainer, Subject) {
    let explainer = Explainer::from_bytes(include_bytes!("../models/efficientnet-lite0.onnx")).unwrap();
    let config = ModelConfig::from_json(include_bytes!("../models/efficientnet-lite0.json")).unwrap();
    let s = Subject {
        input: npy(include_bytes!("data/chelsea_input.npy")),
        target: 282,
        pixels: Some(config.preprocess),
        custom_baseline: None,
    };
    (explainer, s)
}

#[test]
fn efficientnet_lite0_matches_captum_and_pytorch_grad_cam() {
    let (explainer, s) = efficientnet();
    let refs = &references()["efficientnet"];
    assert_matches(
        &explain(&explainer, &s, Method::from_name("gradient").unwrap()),
        include_bytes!("data/explain/efficientnet_saliency.npy"),
        "saliency",
    );
    assert_matches(
        &explain(&explainer, &s, Method::from_name("grad-x-input").unwrap()),
        include_bytes!("data/explain/efficientnet_input_x_gradient.npy"),
        "input × gradient",
    );
    assert_matches(
        &explain(&explainer, &s, Method::from_name("guided-backprop").unwrap()),
        include_bytes!("data/explain/efficientnet_guided_backprop.npy"),
        "guided backprop (ReLU6 as a rectifier)",
    );
    assert_eq!(explainer.default_layer().unwrap(), refs["layer"].as_str().unwrap());
    assert_matches(
        &explain(&explainer, &s, Method::from_name("cam").unwrap()),
        include_bytes!("data/explain/efficientnet_cam.npy"),
        "CAM",
    );
    assert_matches(
        &explain(&explainer, &s, Method::with("grad-cam", &LayerConfig::default()).unwrap()),
        include_bytes!("data/explain/efficientnet_grad_cam.npy"),
        "Grad-CAM",
    );
    assert_matches(
        &explain(&explainer, &s, Method::with("grad-cam-pp", &LayerConfig::default()).unwrap()),
        include_bytes!("data/explain/efficientnet_grad_cam_pp.npy"),
        "Grad-CAM++",
    );
}

/// IG on EfficientNet-Lite0 sits at the limit of f32: its 33 ReLU6 layers make the gradient jump
/// along the path, so rounding decides which side of a kink a few path points land on. Captum's
/// own f32 result is 1.0e-3 (relative L2) from the float64 one (references.json), so ours is
/// held to 2e-3 of both, and its completeness error to Captum's.
#[test]
fn efficientnet_lite0_integrated_gradients_match_captum() {
    let (explainer, s) = efficientnet();
    let attribution = explain(&explainer, &s, ig(50, Rule::GaussLegendre, Baseline::Black));
    let refs = &references()["efficientnet"]["ig"]["efficientnet_ig_gausslegendre_50.npy"];
    let captum_f32_error = refs["vs_f64_rel_l2"].as_f64().unwrap() as f32;
    assert!(captum_f32_error < 2e-3, "Captum's f32 error {captum_f32_error}");
    let exact = npy(include_bytes!("data/explain/efficientnet_ig_gausslegendre_50_f64.npy"));
    let captum = npy(include_bytes!("data/explain/efficientnet_ig_gausslegendre_50.npy"));
    for (want, what) in [(exact, "float64 Captum"), (captum, "f32 Captum")] {
        let err = relative_l2(&attribution.map, &want);
        assert!(err < 2e-3, "IG against {what}: relative L2 {err}");
    }
    let captum_delta = refs["convergence_delta"].as_f64().unwrap() as f32;
    let ours = attribution.completeness.unwrap().error();
    assert!((ours - captum_delta).abs() < 2e-3, "completeness error {ours}, Captum's {captum_delta}");
}

/// SmoothGrad's noise is drawn differently from torch's, so it is compared statistically: on
/// |·| summed over channels and averaged over 8×8 blocks, ours is as close to Captum's as
/// Captum's two seeds are to each other.
/// IG's defaults refine the path until the completeness error is below 1%; chelsea needs it
/// (1.2% at 50 points). Where 50 points already suffice, refinement changes nothing.
#[test]
fn efficientnet_lite0_integrated_gradients_refine_until_complete() {
    let (explainer, s) = efficientnet();
    let refined =
        explain(&explainer, &s, Method::with("integrated-gradients", &PathConfig::default()).unwrap());
    let check = refined.completeness.unwrap();
    assert!(check.relative_error() < 0.01, "{check:?}");
    assert!(check.steps.unwrap() > 50 && check.steps.unwrap() <= 400, "{check:?}");

    let (explainer, s) = small_cnn();
    let plain = explain(&explainer, &s, ig(50, Rule::GaussLegendre, Baseline::Black));
    assert!(plain.completeness.unwrap().relative_error() < 0.01);
    let defaults =
        explain(&explainer, &s, Method::with("integrated-gradients", &PathConfig::default()).unwrap());
    assert_eq!(defaults.map, plain.map);
    assert_eq!(defaults.completeness.unwrap().steps, Some(50));
}

/// The issue's criterion: below 1% at the defaults on every bundled example (natively only:
/// four refined IGs take minutes in a debug wasm build).
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn integrated_gradients_are_complete_at_the_defaults_on_every_bundled_example() {
    let (explainer, _) = efficientnet();
    let config = ModelConfig::from_json(include_bytes!("../models/efficientnet-lite0.json")).unwrap();
    let model = glimpse::ImageClassifier { model: explainer.forward().clone(), config: config.clone() };
    for name in ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www/examples").join(name);
        let image = image::open(&path).unwrap().to_rgba8();
        let pixels =
            glimpse::RgbaPixels { width: image.width(), height: image.height(), data: image.as_raw() };
        let view = glimpse::preprocess::model_view(pixels, &config.preprocess).unwrap();
        let input = glimpse::preprocess::to_tensor(&view, &config.preprocess).into_dyn();
        let target = model.classify_tensor(input.clone(), 1).unwrap()[0].index;
        let s = Subject { input, target, pixels: Some(config.preprocess.clone()), custom_baseline: None };
        let check =
            explain(&explainer, &s, Method::with("integrated-gradients", &PathConfig::default()).unwrap())
                .completeness
                .unwrap();
        assert!(check.relative_error() < 0.01, "{name}: {check:?}");
    }
}

#[test]
fn efficientnet_lite0_smoothgrad_agrees_with_captum_statistically() {
    let (explainer, s) = efficientnet();
    let refs = &references()["efficientnet"]["smoothgrad"];
    let samples = refs["nt_samples"].as_u64().unwrap() as usize;
    let ours = explain(
        &explainer,
        &s,
        Method::with("smoothgrad", &NoiseConfig { samples, sigma: 0.15, seed: 0 }).unwrap(),
    )
    .map;
    let blocks = |map: &ArrayD<f32>| {
        ArrayD::from_shape_fn(vec![28, 28], |i| {
            let mut total = 0.0;
            for c in 0..3 {
                for y in 0..8 {
                    for x in 0..8 {
                        total += map[[0, c, i[0] * 8 + y, i[1] * 8 + x]].abs();
                    }
                }
            }
            total / 64.0
        })
    };
    let seed0 = blocks(&npy(include_bytes!("data/explain/efficientnet_smoothgrad_seed0.npy")));
    let seed1 = blocks(&npy(include_bytes!("data/explain/efficientnet_smoothgrad_seed1.npy")));
    let between_seeds = relative_l2(&seed1, &seed0);
    let ours_to_captum = relative_l2(&blocks(&ours), &seed0);
    assert!(
        ours_to_captum < 1.5 * between_seeds,
        "ours vs Captum {ours_to_captum}, Captum's seeds {between_seeds}"
    );
    let saliency = blocks(&explain(&explainer, &s, Method::from_name("gradient").unwrap()).map);
    assert!(
        relative_l2(&saliency, &seed0) > 2.0 * between_seeds,
        "the test can tell SmoothGrad from the gradient"
    );
}

// ---- The registry --------------------------------------------------------------------------

/// Smoke test over the registry, so a method is run the day it is registered: every method at
/// its defaults on the small CNN gives a finite map in the input's shape (a CAM's at its
/// layer), and refuses a setting its schema does not have.
#[test]
fn smoke_every_registered_method_runs_at_its_defaults() {
    let (explainer, s) = small_cnn_on_a_smooth_image();
    for method in Method::all() {
        let name = method.name();
        let attribution = explain(&explainer, &s, method.clone());
        assert!(attribution.map.iter().all(|v| v.is_finite()), "{name}: a finite map");
        match &attribution.layer {
            Some(layer) => assert_eq!(attribution.map.shape()[..2], [1, 1], "{name} at {layer}"),
            None => assert_eq!(attribution.map.shape(), s.input.shape(), "{name}"),
        }
        let error = Method::new(name, serde_json::json!({"no_such_setting": 1})).unwrap_err().to_string();
        assert!(error.contains("no_such_setting"), "{name}: {error}");
    }
}

// ---- HiResCAM, XGradCAM, LayerCAM, Score-CAM against pytorch-grad-cam 1.5.7 ------------------
// References: data/explain/make_cam_references.py. At the layer feeding a global average pool
// the gradient is the same everywhere, so HiResCAM, XGradCAM and Grad-CAM coincide there; the
// small CNN's first ReLU (before its max pool) tells them apart.

/// The small CNN at its default layer and at its first ReLU.
fn small_cnn_cam(name: &str, at_default: &[u8], at_relu1: &[u8]) {
    let (explainer, s) = small_cnn();
    assert_matches(&explain(&explainer, &s, Method::from_name(name).unwrap()), at_default, name);
    let relu1 = Method::with(name, &LayerConfig { layer: Some("/relu1/Relu_output_0".into()) }).unwrap();
    let attribution = explain(&explainer, &s, relu1);
    assert_eq!(attribution.map.shape(), [1, 1, 32, 32]);
    assert_matches(&attribution, at_relu1, &format!("{name} at the first ReLU"));
}

#[test]
fn hires_cam_matches_pytorch_grad_cam() {
    small_cnn_cam(
        "hires-cam",
        include_bytes!("data/explain/small_cnn_gap_hires_cam.npy"),
        include_bytes!("data/explain/small_cnn_gap_relu1_hires_cam.npy"),
    );
    let (explainer, s) = efficientnet();
    let hires = explain(&explainer, &s, Method::from_name("hires-cam").unwrap());
    assert_matches(&hires, include_bytes!("data/explain/efficientnet_hires_cam.npy"), "HiResCAM");
    // Before a global average pool the gradient is the same at every location, so HiResCAM is
    // Grad-CAM there.
    let grad_cam = explain(&explainer, &s, Method::from_name("grad-cam").unwrap());
    assert!(relative_l2(&hires.map, &grad_cam.map) < 1e-5);
}

#[test]
fn xgrad_cam_matches_pytorch_grad_cam() {
    small_cnn_cam(
        "xgrad-cam",
        include_bytes!("data/explain/small_cnn_gap_xgrad_cam.npy"),
        include_bytes!("data/explain/small_cnn_gap_relu1_xgrad_cam.npy"),
    );
    let (explainer, s) = efficientnet();
    assert_matches(
        &explain(&explainer, &s, Method::from_name("xgrad-cam").unwrap()),
        include_bytes!("data/explain/efficientnet_xgrad_cam.npy"),
        "XGradCAM",
    );
}

#[test]
fn layer_cam_matches_pytorch_grad_cam() {
    small_cnn_cam(
        "layer-cam",
        include_bytes!("data/explain/small_cnn_gap_layer_cam.npy"),
        include_bytes!("data/explain/small_cnn_gap_relu1_layer_cam.npy"),
    );
    let (explainer, s) = efficientnet();
    assert_matches(
        &explain(&explainer, &s, Method::from_name("layer-cam").unwrap()),
        include_bytes!("data/explain/efficientnet_layer_cam.npy"),
        "LayerCAM",
    );
}

#[test]
fn score_cam_matches_pytorch_grad_cam_on_the_small_cnn() {
    small_cnn_cam(
        "score-cam",
        include_bytes!("data/explain/small_cnn_gap_score_cam.npy"),
        include_bytes!("data/explain/small_cnn_gap_relu1_score_cam.npy"),
    );
    // A plan of one pass per channel, the same scored in two slices as whole.
    let (explainer, s) = small_cnn();
    let method = Method::from_name("score-cam").unwrap();
    let plan = Plan::new(&explainer, &s, &method).unwrap();
    assert_eq!(plan.len(), 16, "one pass per channel of the 16-channel layer");
    let whole = explainer.scores(&plan, 0..16, &mut |_, _| {}).unwrap();
    let mut halves = explainer.scores(&plan, 0..7, &mut |_, _| {}).unwrap();
    halves.extend(explainer.scores(&plan, 7..16, &mut |_, _| {}).unwrap());
    assert_eq!(whole, halves);
}

/// Natively only: its 1280 passes take minutes in a debug build in the browser.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn score_cam_matches_pytorch_grad_cam_on_efficientnet_lite0() {
    let (explainer, s) = efficientnet();
    assert_matches(
        &explain(&explainer, &s, Method::from_name("score-cam").unwrap()),
        include_bytes!("data/explain/efficientnet_score_cam.npy"),
        "Score-CAM",
    );
}

/// The page's image session on the small CNN: a forward-only map scored in slices and finished
/// equals the same method run in one call, bit for bit; tiles are kept, restyled and forgotten;
/// a new image forgets every map; a misspelt setting and a missing image are errors that leave
/// the session working.
#[test]
fn the_image_session_keeps_maps_by_tile_until_the_image_changes() {
    use glimpse::session::{ImageRender, ImageWorkspace, Session};
    use glimpse::RgbaPixels;

    let config = br#"{"name": "small CNN", "labels": [],
        "preprocess": {"height": 32, "width": 32, "resize_short_side": 32,
                       "mean": [127, 127, 127], "std": [128, 128, 128]}}"#;
    let onnx = include_bytes!("data/explain/small_cnn_gap.onnx");
    let mut session = Session::new(ImageWorkspace::from_bytes(onnx, config).unwrap());
    let occlusion = r#"{"method": "occlusion", "window": 8, "stride": 8}"#;
    let none = &mut |_: usize, _: usize| {};
    let error = session.explain(0, occlusion, 3, none).unwrap_err().to_string();
    assert_eq!(error, "No image is loaded.");

    let rgba: Vec<u8> = (0..48 * 40 * 4).map(|i| (i * 7 % 251) as u8).collect();
    let pixels = RgbaPixels { width: 48, height: 40, data: &rgba };
    let (view, top) = session.new_subject().set_image(pixels, 2).unwrap();
    assert_eq!((view.width(), view.height(), top.len()), (32, 32, 2));

    let whole = session.explain(1, occlusion, 3, none).unwrap();
    let passes = session.passes(occlusion, 3).unwrap();
    let mut scores = session.scores(occlusion, 3, 0..passes / 2, none).unwrap();
    scores.extend(session.scores(occlusion, 3, passes / 2..passes, none).unwrap());
    let sliced = session.finish(2, occlusion, 3, &scores).unwrap();
    assert_eq!(format!("{whole:?}"), format!("{sliced:?}"));
    assert_eq!(session.kept(1).unwrap(), session.kept(2).unwrap(), "the same map, bit for bit");

    let misspelt = session.explain(3, r#"{"method": "occlusion", "windw": 8}"#, 3, none).unwrap_err();
    assert!(misspelt.to_string().contains("windw"), "{misspelt}");
    let request: ImageRender = serde_json::from_str(
        r#"{"shared": true, "percentile": 99, "tiles": [{"tile": 1, "colormap": "blue-red"},
                                                        {"tile": 2, "colormap": "blue-red"},
                                                        {"tile": 3, "colormap": "blue-red"}]}"#,
    )
    .unwrap();
    let layers = session.render(&request).unwrap();
    assert_eq!(
        layers.iter().map(|l| l.tile).collect::<Vec<_>>(),
        [1, 2],
        "tile 3 failed, so it is not drawn"
    );
    assert_eq!(layers[0].rgba.len(), 32 * 32 * 4);
    assert_eq!(layers[0].rgba, layers[1].rgba);

    session.forget(1);
    assert!(session.kept(1).is_none() && session.kept(2).is_some());
    let pixels = RgbaPixels { width: 32, height: 32, data: &rgba[..32 * 32 * 4] };
    session.new_subject().set_image(pixels, 1).unwrap();
    assert!(session.tiles().is_empty(), "a new image forgets every map");
}

/// The page's sanity check on the small CNN: a step remakes every listed map on the model
/// randomised once and compares it with the kept one exactly as the library does; the steps
/// run from the logits layer down; a step's maps made one at a time are the same as made
/// together; a step that is not there, or values that do not split into the maps, are errors.
#[test]
fn the_sessions_sanity_check_remakes_maps_on_the_randomised_model() {
    use glimpse::evaluate::compare;
    use glimpse::explain::{Explainer, Method, Subject};
    use glimpse::session::{Remake, Workspace};

    let onnx = include_bytes!("data/explain/small_cnn_gap.onnx");
    let mut session = small_cnn_session(7);
    let none = &mut |_: usize, _: usize| {};
    let gradient = r#"{"method": "gradient"}"#;
    session.explain(4, gradient, 1, none).unwrap();

    let metric = r#"{"metric": "randomisation", "mode": "cascading", "steps": 2, "seed": 5}"#;
    let steps = session.randomisation_steps(metric).unwrap();
    let layers = glimpse::model::randomise::layers(onnx).unwrap();
    assert_eq!(steps.len(), 2.min(layers.len()));
    assert_eq!(steps[0].layers, vec![0]);
    let maps = [Remake { tile: 4, method: serde_json::json!({"method": "gradient"}) }];
    let values = session.values(4).unwrap();
    let step = session.randomisation_step(metric, 0, 1, &maps, &values, none).unwrap();
    assert_eq!((step.step, step.layers, step.maps.len()), (0, 1, 1));

    // The library on the same randomised model.
    let randomised = glimpse::model::randomise::randomise(onnx, &[0], 5).unwrap();
    let input = session.work().features().unwrap().input().clone();
    let subject = Subject { input, target: 1, pixels: None, custom_baseline: None };
    let method = Method::from_name("gradient").unwrap();
    let map = |bytes: &[u8]| {
        let raw =
            Explainer::from_bytes(bytes).unwrap().explain(&subject, &method, &mut |_, _| {}).unwrap().map;
        glimpse::render::displayed(&raw, method.display(), 32, 32)
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<f32>>()
    };
    assert_eq!(map(onnx), values);
    assert_eq!(step.maps[0].similarity, compare(&values, &map(&randomised), Some((32, 32))));

    // A step's maps made one at a time, on another session: the same answers as together.
    let ig = r#"{"method": "integrated-gradients", "steps": 4, "tolerance": null}"#;
    session.explain(5, ig, 1, none).unwrap();
    let both = [maps[0].clone(), Remake { tile: 5, method: serde_json::from_str(ig).unwrap() }];
    let each = [values.clone(), session.values(5).unwrap()];
    let together = session.randomisation_step(metric, 1, 1, &both, &each.concat(), none).unwrap();
    let helper = small_cnn_session(7);
    for (i, (remake, values)) in both.iter().zip(&each).enumerate() {
        let alone =
            helper.randomisation_step(metric, 1, 1, std::slice::from_ref(remake), values, none).unwrap();
        assert_eq!(alone.maps[0].similarity, together.maps[i].similarity, "{remake:?}");
    }

    let beyond = session.randomisation_step(metric, 2, 1, &maps, &values, none).unwrap_err();
    assert!(beyond.to_string().contains("no step 2"), "{beyond}");
    assert!(session.randomisation_step(metric, 0, 1, &maps, &values[1..], none).is_err());
    let sweep = session.randomisation_steps(r#"{"metric": "deletion"}"#).unwrap_err();
    assert!(sweep.to_string().contains("does not randomise"), "{sweep}");
}

/// The page's image session on the small CNN, with a 32×32 image of a pattern set by `step`.
fn small_cnn_session(step: usize) -> glimpse::session::Session<glimpse::session::ImageWorkspace> {
    use glimpse::session::{ImageWorkspace, Session};

    let config = br#"{"name": "small CNN", "labels": [],
        "preprocess": {"height": 32, "width": 32, "resize_short_side": 32,
                       "mean": [127, 127, 127], "std": [128, 128, 128]}}"#;
    let onnx = include_bytes!("data/explain/small_cnn_gap.onnx");
    let rgba: Vec<u8> = (0..32 * 32 * 4).map(|i| (i * step % 251) as u8).collect();
    let mut session = Session::new(ImageWorkspace::from_bytes(onnx, config).unwrap());
    let pixels = glimpse::RgbaPixels { width: 32, height: 32, data: &rgba };
    session.new_subject().set_image(pixels, 1).unwrap();
    session
}

/// Soft stability through the page's session verbs: a helper session with the same image and
/// no maps scores half the passes from the map's values alone, and the rate it makes with the
/// keeping session's half is the one the keeping session makes alone.
#[test]
fn the_session_splits_soft_stability_across_workers_bit_for_bit() {
    use glimpse::evaluate::Scored;

    let none = &mut |_: usize, _: usize| {};
    let (mut keeper, mut helper) = (small_cnn_session(13), small_cnn_session(13));
    keeper.explain(1, r#"{"method": "gradient"}"#, 3, none).unwrap();
    let values = keeper.values(1).unwrap();
    let metric = r#"{"metric": "soft-stability", "segments": 12, "radius": 3, "seed": 2}"#;
    let total = keeper.measure_passes(metric, 3, &values).unwrap();
    assert_eq!(helper.measure_passes(metric, 3, &values).unwrap(), total);
    let whole = keeper.measure_scores(metric, 3, &values, 0..total, none).unwrap();
    let mut split = keeper.measure_scores(metric, 3, &values, 0..total / 2, none).unwrap();
    split.extend(helper.measure_scores(metric, 3, &values, total / 2..total, none).unwrap());
    assert_eq!(whole, split, "every pass scores the same on either worker");
    let Scored::Stability(rate) = keeper.measure_finish(metric, 3, &values, &split).unwrap() else {
        panic!("soft stability gives a rate")
    };
    assert_eq!(rate.shown, rate.features.div_ceil(4));
    assert!(rate.low <= rate.rate && rate.rate <= rate.high, "{rate:?}");
    let held = whole[1..].iter().filter(|&&s| s == whole[0]).count();
    assert_eq!(rate.rate, held as f32 / (total - 1) as f32);
    let error =
        keeper.measure_passes(r#"{"metric": "soft-stability", "radius": -1}"#, 3, &values).unwrap_err();
    assert!(error.to_string().contains("Radius r"), "{error}");
}

/// Sensitivity through the page's session verbs: the tile's raw map travels to a helper
/// session that remakes it on some of the noisy inputs; the changes are the library's on the
/// same seeded noise, and the score their largest.
#[test]
fn the_session_splits_sensitivity_across_workers_as_the_library_computes_it() {
    use glimpse::evaluate::{noise, Features};
    use glimpse::explain::{Explainer, Method, Subject};
    use glimpse::session::Workspace;

    let onnx = include_bytes!("data/explain/small_cnn_gap.onnx");
    let none = &mut |_: usize, _: usize| {};
    let (mut keeper, helper) = (small_cnn_session(29), small_cnn_session(29));
    let method = r#"{"method": "grad-x-input"}"#;
    keeper.explain(4, method, 1, none).unwrap();
    let raw = keeper.raw(4).unwrap();
    let metric = r#"{"metric": "sensitivity", "samples": 3, "radius": 0.2, "seed": 5}"#;
    assert_eq!(keeper.sensitivity_draws(metric).unwrap(), 3);
    let mut changes = helper.sensitivity_changes(metric, method, 1, &raw, 0..2, none).unwrap();
    changes.extend(keeper.sensitivity_changes(metric, method, 1, &raw, 2..3, none).unwrap());
    let score = keeper.sensitivity_finish(metric, &changes).unwrap();

    let Features::Pixels { input, .. } = keeper.work().features().unwrap() else { panic!("an image") };
    let subject = Subject { input: input.clone(), target: 1, pixels: None, custom_baseline: None };
    let explainer = Explainer::from_bytes(onnx).unwrap();
    let grad_x_input = Method::from_name("grad-x-input").unwrap();
    let original = explainer.explain(&subject, &grad_x_input, none).unwrap().map;
    let noises = (0..3).map(|k| noise(input.shape(), 0.2, 5, k));
    let want = explainer.sensitivity(&subject, &grad_x_input, &original, noises, none).unwrap();
    assert_eq!(changes, want);
    assert_eq!(score.max, want.iter().copied().fold(f32::MIN, f32::max));
    assert!(score.max > 0.0);
    assert!(keeper.sensitivity_finish(metric, &changes[..2]).is_err());
    assert!(keeper.sensitivity_changes(metric, method, 1, &raw, 2..4, none).is_err(), "draw 4 of 3");
    let wrong = keeper.sensitivity_draws(r#"{"metric": "deletion"}"#).unwrap_err();
    assert!(wrong.to_string().contains("noisy inputs"), "{wrong}");
}
