// Image augmentation for ImageRecordIter, MXNet's default augmenter chain on OpenCV: resize the
// shorter side, rotate, crop (random-resized, random or center), mirror, brightness / contrast /
// saturation jitter, PCA lighting noise, then normalise into CHW float RGB. All randomness comes
// from the generator passed in, so a sample's augmentation depends only on its seed.
#pragma once

#include <opencv2/core.hpp>
#include <random>

#include "op/schema.h"

namespace mx::io {

struct AugmentParams {
  int64_t height = 0, width = 0;  // the output (data_shape's H, W)
  int64_t resize = -1;            // shorter side first resized to this (-1: no)
  bool rand_crop = false, random_resized_crop = false, rand_mirror = false;
  double min_area = 0.08, max_area = 1.0, min_ratio = 3.0 / 4, max_ratio = 4.0 / 3;
  double max_rotate = 0, brightness = 0, contrast = 0, saturation = 0, pca_noise = 0;
  int inter = 1;  // MXNet's inter_method: 0 nearest, 1 linear, 2 cubic, 3 area, 4 lanczos, 9 auto, 10 random
  double mean[3] = {0, 0, 0}, std[3] = {1, 1, 1}, scale = 1;  // per RGB channel
};

// The augmentation params of ImageRecordIter (resize, rand_crop, ..., mean_r, std_b, scale).
std::vector<op::ParamSpec> augment_params();
AugmentParams augment_from(const op::Attrs& a, int64_t height, int64_t width);

// Augments a decoded BGR 8-bit image and writes (x - mean) / std * scale as float RGB planes of
// height x width into out (3 * height * width floats).
void augment(cv::Mat img, const AugmentParams& p, std::mt19937_64& rng, float* out);

}  // namespace mx::io
