#include "io/augment.h"

namespace mx::io {

std::vector<op::ParamSpec> augment_params() {
  using op::param_bool;
  using op::param_float;
  using op::param_int;
  op::ParamSpec inter = param_int("inter_method", "1",
                                  "interpolation: 0 nearest, 1 bilinear, 2 bicubic, 3 area, 4 lanczos, 9 auto, 10 random");
  inter.min = 0, inter.max = 10;
  return {param_int("resize", "-1", "resize the shorter side to this first (-1: no)"),
          param_bool("rand_crop", "False", "crop at a random position (else the center)"),
          param_bool("random_resized_crop", "False", "crop a random area and aspect ratio, resized to data_shape"),
          param_float("min_random_area", "0.08", "random_resized_crop: smallest area fraction"),
          param_float("max_random_area", "1", "random_resized_crop: largest area fraction"),
          param_float("min_aspect_ratio", "0.75", "random_resized_crop: smallest width / height"),
          param_float("max_aspect_ratio", "1.33333", "random_resized_crop: largest width / height"),
          param_bool("rand_mirror", "False", "flip horizontally with probability 1/2"),
          param_float("max_rotate_angle", "0", "rotate by a random angle in [-a, a] degrees"),
          param_float("brightness", "0", "brightness jitter: scale by 1 + U(-b, b)"),
          param_float("contrast", "0", "contrast jitter"),
          param_float("saturation", "0", "saturation jitter"),
          param_float("pca_noise", "0", "std of AlexNet-style PCA lighting noise"),
          param_float("mean_r", "0", "mean subtracted from red"),
          param_float("mean_g", "0", "mean subtracted from green"),
          param_float("mean_b", "0", "mean subtracted from blue"),
          param_float("std_r", "1", "red divided by this"),
          param_float("std_g", "1", "green divided by this"),
          param_float("std_b", "1", "blue divided by this"),
          param_float("scale", "1", "multiplies every value last"),
          inter};
}

AugmentParams augment_from(const op::Attrs& a, int64_t height, int64_t width) {
  AugmentParams p{};
  p.struct_size = sizeof(p);
  p.height = height, p.width = width;
  p.resize = a.i("resize");
  p.rand_crop = a.b("rand_crop");
  p.random_resized_crop = a.b("random_resized_crop");
  p.min_area = a.f("min_random_area"), p.max_area = a.f("max_random_area");
  p.min_ratio = a.f("min_aspect_ratio"), p.max_ratio = a.f("max_aspect_ratio");
  p.rand_mirror = a.b("rand_mirror");
  p.max_rotate = a.f("max_rotate_angle");
  p.brightness = a.f("brightness"), p.contrast = a.f("contrast"), p.saturation = a.f("saturation");
  p.pca_noise = a.f("pca_noise");
  p.mean[0] = a.f("mean_r"), p.mean[1] = a.f("mean_g"), p.mean[2] = a.f("mean_b");
  p.std[0] = a.f("std_r"), p.std[1] = a.f("std_g"), p.std[2] = a.f("std_b");
  p.scale = a.f("scale");
  p.inter = int(a.i("inter_method"));
  return p;
}

}  // namespace mx::io
