//! Tensors as files: `.npy` in and out, so that tests, the CLI and reference scripts share data
//! with NumPy.

use ndarray::ArrayD;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

use crate::error::{Error, Result};

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
