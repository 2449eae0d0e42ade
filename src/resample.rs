//! Bilinear resampling of a 2-D map, in the two conventions the reference libraries use. Shared
//! by the methods (RISE's masks, Score-CAM's) and by `render` (a layer's map at the image's size).

use ndarray::{Array2, ArrayView2};

/// Where the output's samples fall on the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corners {
    /// Half-pixel centres, edges clamped: OpenCV's `INTER_LINEAR`, PyTorch's
    /// `align_corners=False`.
    HalfPixel,
    /// The corners' centres aligned: output pixel i samples the input at
    /// i · (in − 1) / (out − 1), as PyTorch's `UpsamplingBilinear2d`.
    Aligned,
}

/// `map` resampled to `height`×`width`.
pub fn bilinear(map: ArrayView2<'_, f32>, height: usize, width: usize, corners: Corners) -> Array2<f32> {
    let (h, w) = map.dim();
    if h == 0 || w == 0 {
        return Array2::zeros((height, width));
    }
    let source = |out: usize, out_len: usize, len: usize| -> (usize, usize, f32) {
        let x = match corners {
            Corners::HalfPixel => ((out as f32 + 0.5) * len as f32 / out_len as f32 - 0.5).max(0.0),
            Corners::Aligned if out_len > 1 => out as f32 * (len - 1) as f32 / (out_len - 1) as f32,
            Corners::Aligned => 0.0,
        };
        let lo = (x.floor() as usize).min(len - 1);
        (lo, (lo + 1).min(len - 1), x - lo as f32)
    };
    Array2::from_shape_fn((height, width), |(y, x)| {
        let (y0, y1, fy) = source(y, height, h);
        let (x0, x1, fx) = source(x, width, w);
        let top = map[[y0, x0]] * (1.0 - fx) + map[[y0, x1]] * fx;
        let bottom = map[[y1, x0]] * (1.0 - fx) + map[[y1, x1]] * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn half_pixel_centres_match_pytorch() {
        // PyTorch: F.interpolate([[0, 1], [2, 3]], size=4, mode="bilinear", align_corners=False)
        let up = bilinear(array![[0.0f32, 1.0], [2.0, 3.0]].view(), 4, 4, Corners::HalfPixel);
        let want = array![
            [0.0f32, 0.25, 0.75, 1.0],
            [0.5, 0.75, 1.25, 1.5],
            [1.5, 1.75, 2.25, 2.5],
            [2.0, 2.25, 2.75, 3.0]
        ];
        assert_eq!(up, want);
    }

    #[test]
    fn aligned_corners_keep_the_corners_and_interpolate_between() {
        let up = bilinear(array![[0.0f32, 1.0], [2.0, 3.0]].view(), 3, 5, Corners::Aligned);
        assert_eq!([up[[0, 0]], up[[0, 4]], up[[2, 0]], up[[2, 4]]], [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(up[[1, 2]], 1.5);
    }
}
