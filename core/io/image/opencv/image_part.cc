// libmx_image.so: image decoding (cv::imdecode) and MXNet's default augmenter chain on OpenCV,
// behind the C table of ../image_api.h. Sees that header only; exports mx_image_init alone.
// The augmenter is the one ImageRecordIter ran inside libmx before the split, unchanged: the same
// draws from the same generator in the same order, so a seed gives the same images as before.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/core/version.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>

#include "image_api.h"

namespace {

using Params = mx_image_augment_params;

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

cv::Mat resized(const cv::Mat& img, int w, int h, const Params& p, std::mt19937_64& rng) {
  if (img.cols == w && img.rows == h) return img;
  cv::Mat out;
  cv::resize(img, out, cv::Size(w, h), 0, 0, cv_interp(p.inter, rng, w * h < img.cols * img.rows));
  return out;
}

double uniform(std::mt19937_64& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }

// ImageNet's RGB eigenvalues / eigenvectors, as MXNet's PCA lighting noise uses.
constexpr double kEigval[3] = {55.46, 4.794, 1.148};
constexpr double kEigvec[3][3] = {{-0.5675, 0.7192, 0.4009}, {-0.5808, -0.0045, -0.8140}, {-0.5836, -0.6948, 0.4203}};

// Augments a decoded BGR 8-bit image and writes (x - mean) / std * scale as float RGB planes of
// height x width into out (3 * height * width floats).
void augment(cv::Mat img, const Params& p, std::mt19937_64& rng, float* out) {
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

int failed(char* err, uint64_t err_len, const std::string& msg) {
  if (err && err_len > 0) {
    const size_t n = std::min<uint64_t>(msg.size(), err_len - 1);
    std::memcpy(err, msg.data(), n);
    err[n] = '\0';
  }
  return MX_IMAGE_FAILED;
}

int decode_augment(const void* bytes, uint64_t n, const mx_image_augment_params* p, uint64_t rng_seed, float* out,
                   char* err, uint64_t err_len) {
  try {
    if (!p || p->struct_size < sizeof(mx_image_augment_params))
      return failed(err, err_len, "image part: augment params older than this part (struct_size " +
                                      std::to_string(p ? p->struct_size : 0) + ")");
    constexpr int64_t kMaxSide = std::numeric_limits<int>::max();
    if (p->height < 1 || p->width < 1 || p->height > kMaxSide || p->width > kMaxSide || !out)
      return failed(err, err_len, "image part: output " + std::to_string(p->height) + " x " + std::to_string(p->width) +
                                      " is not a valid image size");
    if (!bytes || n == 0 || n > uint64_t(std::numeric_limits<int>::max())) return MX_IMAGE_UNDECODABLE;
    const cv::Mat img = cv::imdecode(cv::Mat(1, int(n), CV_8U, const_cast<void*>(bytes)), cv::IMREAD_COLOR);
    if (img.empty()) return MX_IMAGE_UNDECODABLE;
    std::mt19937_64 rng(rng_seed);
    augment(img, *p, rng, out);
    return 0;
  } catch (const std::exception& e) {  // cv::Exception, std::bad_alloc: nothing crosses the C border
    return failed(err, err_len, e.what());
  } catch (...) {
    return failed(err, err_len, "image part: unknown exception");
  }
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int mx_image_init(mx_image_api* out) {
  if (!out || out->struct_size < offsetof(mx_image_api, name)) return -1;  // too small for the ABI fields
  mx_image_api t{};
  t.struct_size = sizeof(mx_image_api);
  t.abi_major = MX_IMAGE_ABI_MAJOR;
  t.abi_minor = MX_IMAGE_ABI_MINOR;
  t.name = "opencv";
  t.version = CV_VERSION;
  t.decode_augment = decode_augment;
  const uint32_t fill = std::min<uint32_t>(out->struct_size, uint32_t(sizeof(t)));
  t.struct_size = fill;
  std::memcpy(out, &t, fill);
  return 0;
}
