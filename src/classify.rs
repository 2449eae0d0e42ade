//! Turning a model's logits into ranked, labelled probabilities.

use ndarray::ArrayView1;
use serde::Serialize;

use crate::config::ModelConfig;

/// One ranked class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub index: usize,
    pub label: String,
    pub prob: f32,
}

/// Numerically stable softmax.
pub fn softmax(logits: ArrayView1<'_, f32>) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// The index of the largest score (the first among equals): the top class.
pub fn argmax(scores: ArrayView1<'_, f32>) -> usize {
    scores.iter().enumerate().fold(0, |best, (i, &v)| if v > scores[best] { i } else { best })
}

/// The `k` most probable classes, most probable first; ties keep the lower index first.
pub fn top_k(logits: ArrayView1<'_, f32>, k: usize, config: &ModelConfig) -> Vec<Prediction> {
    ranked(logits, k, |index| config.label(index))
}

/// [`top_k`], with the labels from `label`.
pub fn ranked(logits: ArrayView1<'_, f32>, k: usize, label: impl Fn(usize) -> String) -> Vec<Prediction> {
    let probs = softmax(logits);
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(k)
        .map(|index| Prediction { index, label: label(index), prob: probs[index] })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preprocess;
    use ndarray::arr1;

    #[test]
    fn softmax_matches_its_definition() {
        let p = softmax(arr1(&[1.0f32, 2.0, 3.0]).view());
        let z: f32 = [1.0f32, 2.0, 3.0].iter().map(|x| x.exp()).sum();
        assert!((p[2] - 3f32.exp() / z).abs() < 1e-6);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // Large logits do not overflow.
        let big = softmax(arr1(&[1000.0f32, 1000.0]).view());
        assert_eq!(big, vec![0.5, 0.5]);
    }

    #[test]
    fn top_k_ranks_and_labels() {
        let config = ModelConfig {
            name: "t".into(),
            input: None,
            preprocess: Preprocess::rgb(1, 1, 1, [0.0; 3], [1.0; 3]),
            output: crate::config::Output::Logits,
            labels: vec!["a".into(), "b".into()],
        };
        let top = top_k(arr1(&[0.0f32, 2.0, 1.0]).view(), 2, &config);
        assert_eq!(top[0].index, 1);
        assert_eq!(top[0].label, "b");
        assert_eq!(top[1].index, 2);
        assert_eq!(top[1].label, "class 2");
    }
}

/// A model together with its description: image or tensor in, ranked classes out.
#[derive(Debug, Clone)]
pub struct ImageClassifier {
    pub model: crate::model::Model,
    pub config: ModelConfig,
}

/// What the page shows after a run: the image as the model saw it, and the top classes.
#[derive(Debug, Clone)]
pub struct Classification {
    pub view: image::RgbImage,
    pub top: Vec<Prediction>,
}

impl ImageClassifier {
    pub fn from_bytes(onnx: &[u8], config_json: &[u8]) -> crate::Result<ImageClassifier> {
        let config = ModelConfig::from_json(config_json)?;
        let model = crate::model::Model::from_bytes(&config.prepare(onnx)?)?;
        Ok(ImageClassifier { model, config })
    }

    /// Preprocesses an RGBA image and ranks the classes.
    pub fn classify_pixels(
        &self,
        pixels: crate::preprocess::RgbaPixels<'_>,
        k: usize,
    ) -> crate::Result<Classification> {
        let view = crate::preprocess::model_view(pixels, &self.config.preprocess)?;
        let input = crate::preprocess::to_tensor(&view, &self.config.preprocess).into_dyn();
        let top = self.classify_tensor(input, k)?;
        Ok(Classification { view, top })
    }

    /// Ranks the classes for one input tensor given as it is, without preprocessing.
    pub fn classify_tensor(&self, input: ndarray::ArrayD<f32>, k: usize) -> crate::Result<Vec<Prediction>> {
        let logits = self.logits(input)?;
        Ok(top_k(logits.view(), k, &self.config))
    }

    /// The logits for one input tensor, flattened.
    pub fn logits(&self, input: ndarray::ArrayD<f32>) -> crate::Result<ndarray::Array1<f32>> {
        let output = self.model.run(input)?;
        if output.shape().first() != Some(&1) {
            return Err(crate::Error::ModelRun(format!(
                "expected one row of class scores, got an output of shape {:?}",
                output.shape()
            )));
        }
        let n = output.len();
        output.into_shape_with_order(n).map_err(|e| crate::Error::ModelRun(e.to_string()))
    }
}
