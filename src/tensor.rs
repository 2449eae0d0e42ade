//! Tensors as files: `.npy` in and out, so that tests, the CLI and reference scripts share data
//! with NumPy.

use ndarray::ArrayD;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use crate::error::{Error, Result};

/// A tensor of one of the element types ONNX graphs carry between nodes: `f32` activations,
/// and `i64` or `bool` shapes, indices and masks. Other types are converted on the way in
/// (integers to `i64`, other floats to `f32`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    F32(ArrayD<f32>),
    I64(ArrayD<i64>),
    Bool(ArrayD<bool>),
}

impl Value {
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::F32(a) => a.shape(),
            Value::I64(a) => a.shape(),
            Value::Bool(a) => a.shape(),
        }
    }

    pub fn as_f32(&self) -> Option<&ArrayD<f32>> {
        match self {
            Value::F32(a) => Some(a),
            _ => None,
        }
    }

    /// The values as `i64`, for shapes, axes and indices.
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match self {
            Value::F32(a) => a.iter().map(|&v| v as i64).collect(),
            Value::I64(a) => a.iter().copied().collect(),
            Value::Bool(a) => a.iter().map(|&v| i64::from(v)).collect(),
        }
    }
}

/// Reads an `f32` `.npy` tensor from bytes.
pub fn from_npy(bytes: &[u8]) -> Result<ArrayD<f32>> {
    ArrayD::<f32>::read_npy(bytes).map_err(|e| Error::Npy(e.to_string()))
}

/// Writes an `f32` tensor as `.npy` bytes.
pub fn to_npy(array: &ArrayD<f32>) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    array.write_npy(&mut bytes).map_err(|e| Error::Npy(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips() {
        let a = ndarray::Array::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as f32 - 2.5).into_dyn();
        assert_eq!(from_npy(&to_npy(&a).unwrap()).unwrap(), a);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(from_npy(b"not a numpy file").is_err());
    }
}
