#include "io/augment.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace mx::io {
namespace {

int cv_interp(int method, std::mt19937_64& rng, bool shrinking) {
  if (method == 10) method = int(rng() % 5);
  if (method == 9) method = shrinking ? 3 : 2;
  switch (method) {
    case 0: return cv::INTER_NEAREST;
    case 2: return cv::INTER_CUBIC;
    case 3: return cv::INTER_AREA;
    case 4: return cv::INTER_LANCZOS4;
    default: return cv::INTER_LINEAR;
  }
}

cv::Mat resized(const cv::Mat& img, int w, int h, const AugmentParams& p, std::mt19937_64& rng) {
  if (img.cols == w && img.rows == h) return img;
  cv::Mat out;
  cv::resize(img, out, cv::Size(w, h), 0, 0, cv_interp(p.inter, rng, w * h < img.cols * img.rows));
  return out;
}

double uniform(std::mt19937_64& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }

// ImageNet's RGB eigenvalues / eigenvectors, as MXNet's PCA lighting noise uses.
constexpr double kEigval[3] = {55.46, 4.794, 1.148};
constexpr double kEigvec[3][3] = {{-0.5675, 0.7192, 0.4009}, {-0.5808, -0.0045, -0.8140}, {-0.5836, -0.6948, 0.4203}};

}  // namespace

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
  AugmentParams p;
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

void augment(cv::Mat img, const AugmentParams& p, std::mt19937_64& rng, float* out) {
  const int W = int(p.width), H = int(p.height);
  if (p.resize > 0) {  // shorter side to `resize`
    const double f = double(p.resize) / std::min(img.cols, img.rows);
    img = resized(img, std::max(1, int(std::lround(img.cols * f))), std::max(1, int(std::lround(img.rows * f))), p, rng);
  }
  if (p.max_rotate > 0) {
    const double angle = uniform(rng, -p.max_rotate, p.max_rotate);
    const cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(img.cols / 2.0f, img.rows / 2.0f), angle, 1.0);
    cv::Mat r;
    cv::warpAffine(img, r, m, img.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(255, 255, 255));
    img = r;
  }
  if (p.random_resized_crop) {
    const double area = double(img.cols) * img.rows;
    cv::Rect roi(0, 0, img.cols, img.rows);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target = area * uniform(rng, p.min_area, p.max_area);
      const double ratio = std::exp(uniform(rng, std::log(p.min_ratio), std::log(p.max_ratio)));
      const int w = int(std::lround(std::sqrt(target * ratio))), h = int(std::lround(std::sqrt(target / ratio)));
      if (w < 1 || h < 1 || w > img.cols || h > img.rows) continue;
      roi = cv::Rect(int(rng() % uint64_t(img.cols - w + 1)), int(rng() % uint64_t(img.rows - h + 1)), w, h);
      break;
    }
    img = resized(img(roi), W, H, p, rng);
  } else {
    if (img.cols < W || img.rows < H) {  // too small to crop: enlarge, keeping the aspect ratio
      const double f = std::max(double(W) / img.cols, double(H) / img.rows);
      img = resized(img, std::max(W, int(std::ceil(img.cols * f))), std::max(H, int(std::ceil(img.rows * f))), p, rng);
    }
    int x = (img.cols - W) / 2, y = (img.rows - H) / 2;
    if (p.rand_crop) {
      x = int(rng() % uint64_t(img.cols - W + 1));
      y = int(rng() % uint64_t(img.rows - H + 1));
    }
    img = img(cv::Rect(x, y, W, H));
  }
  if (p.rand_mirror && (rng() & 1)) {
    cv::Mat f;
    cv::flip(img, f, 1);
    img = f;
  }
  // Colour work in float RGB.
  const bool jitter = p.brightness > 0 || p.contrast > 0 || p.saturation > 0 || p.pca_noise > 0;
  double alpha_b = 1, alpha_c = 1, alpha_s = 1, shift[3] = {0, 0, 0};
  if (p.brightness > 0) alpha_b = 1 + uniform(rng, -p.brightness, p.brightness);
  if (p.contrast > 0) alpha_c = 1 + uniform(rng, -p.contrast, p.contrast);
  if (p.saturation > 0) alpha_s = 1 + uniform(rng, -p.saturation, p.saturation);
  if (p.pca_noise > 0) {
    std::normal_distribution<double> n(0, p.pca_noise);
    double a[3];
    for (double& v : a) v = n(rng);
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < 3; ++k) shift[c] += kEigvec[c][k] * a[k] * kEigval[k];
  }
  double gray_mean = 0;
  if (p.contrast > 0) {
    double s = 0;
    for (int y = 0; y < H; ++y) {
      const uint8_t* row = img.ptr<uint8_t>(y);
      for (int x = 0; x < W; ++x) s += 0.299 * row[3 * x + 2] + 0.587 * row[3 * x + 1] + 0.114 * row[3 * x];
    }
    gray_mean = s / (double(W) * H);
  }
  const size_t plane = size_t(W) * size_t(H);
  if (!jitter) {  // out = v * a + b per channel, vectorisable
    float a[3], b[3];
    for (int c = 0; c < 3; ++c) {
      a[c] = float(p.scale / p.std[c]);
      b[c] = float(-p.mean[c] * p.scale / p.std[c]);
    }
    for (int y = 0; y < H; ++y) {
      const uint8_t* row = img.ptr<uint8_t>(y);
      float* r = out + size_t(y) * size_t(W);
      float* g = r + plane;
      float* bl = g + plane;
      for (int x = 0; x < W; ++x) {  // BGR in, RGB planes out
        r[x] = float(row[3 * x + 2]) * a[0] + b[0];
        g[x] = float(row[3 * x + 1]) * a[1] + b[1];
        bl[x] = float(row[3 * x]) * a[2] + b[2];
      }
    }
    return;
  }
  for (int y = 0; y < H; ++y) {
    const uint8_t* row = img.ptr<uint8_t>(y);
    for (int x = 0; x < W; ++x) {
      double rgb[3] = {double(row[3 * x + 2]), double(row[3 * x + 1]), double(row[3 * x])};
      if (jitter) {
        for (double& v : rgb) v *= alpha_b;
        if (p.contrast > 0)
          for (double& v : rgb) v = v * alpha_c + gray_mean * (1 - alpha_c);
        if (p.saturation > 0) {
          const double gray = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
          for (double& v : rgb) v = v * alpha_s + gray * (1 - alpha_s);
        }
        for (int c = 0; c < 3; ++c) rgb[c] += shift[c];
      }
      for (int c = 0; c < 3; ++c)
        out[size_t(c) * plane + size_t(y) * size_t(W) + size_t(x)] = float((rgb[c] - p.mean[c]) / p.std[c] * p.scale);
    }
  }
}

}  // namespace mx::io
