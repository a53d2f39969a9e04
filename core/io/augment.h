// ImageRecordIter's augmentation params: MXNet's default augmenter chain (resize the shorter side,
// rotate, crop (random-resized, random or center), mirror, brightness / contrast / saturation
// jitter, PCA lighting noise, then normalise into CHW float RGB). The chain itself runs in the
// image part (libmx_image.so, io/image/image_api.h), which libmx loads at run time: libmx holds
// only the params and links no OpenCV.
#pragma once

#include <vector>

#include "io/image/image_api.h"
#include "op/schema.h"

namespace mx::io {

using AugmentParams = mx_image_augment_params;

// The augmentation params of ImageRecordIter (resize, rand_crop, ..., mean_r, std_b, scale).
std::vector<op::ParamSpec> augment_params();
AugmentParams augment_from(const op::Attrs& a, int64_t height, int64_t width);

}  // namespace mx::io
