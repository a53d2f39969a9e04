// ImageRecordIter through the C API on a generated set of JPEGs: decoded pixels against an
// independent libturbojpeg decode, per-seed deterministic augmentation whatever the thread count,
// rand_mirror flipping, multi-label records, shards, index files and undecodable records; the
// crops and flips following the documented seed contract; the image part (libmx_image.so) loaded at
// run time, and a missing one reported naming every file tried.
#include <gtest/gtest.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "io/image/loader.h"
#include "test_util.h"

namespace {

using mx::test::Arr;
namespace fs = std::filesystem;

constexpr int kW = 40, kH = 32, kN = 12;

// MXNet's image record header written by hand: flag, label, id, id2, then `flag` labels.
std::string header(uint32_t flag, float label, uint64_t id, const std::vector<float>& labels = {}) {
  std::string h(24, '\0');
  std::memcpy(h.data(), &flag, 4);
  std::memcpy(h.data() + 4, &label, 4);
  std::memcpy(h.data() + 8, &id, 8);
  for (float l : labels) h.append(reinterpret_cast<const char*>(&l), 4);
  return h;
}

struct Dataset {
  fs::path dir;
  std::vector<std::vector<uint8_t>> jpegs;
  std::string rec, idx;
  Dataset() {
    dir = fs::temp_directory_path() / ("mx_image_io_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    rec = (dir / "set.rec").string();
    idx = (dir / "set.idx").string();
    std::mt19937 rng(3);
    mx_recordio_writer_t w = nullptr;
    EXPECT_MX_OK(mx_recordio_writer_create(rec.c_str(), idx.c_str(), &w));
    for (int i = 0; i < kN; ++i) {
      cv::Mat img(kH, kW, CV_8UC3);
      for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x)  // gradients plus noise: left and right halves differ
          img.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(x * 6 + i), uint8_t(y * 7), uint8_t((x * y + int(rng() % 32)) % 256));
      std::vector<uint8_t> jpg;
      cv::imencode(".jpg", img, jpg, {cv::IMWRITE_JPEG_QUALITY, 90});
      jpegs.push_back(jpg);
      const std::string r = header(2, 0, uint64_t(100 + i), {float(i % 3), float(i)}) + std::string(jpg.begin(), jpg.end());
      EXPECT_MX_OK(mx_recordio_writer_write_keyed(w, i, r.data(), r.size()));
    }
    EXPECT_MX_OK(mx_recordio_writer_free(w));
  }
  ~Dataset() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const Dataset& data() {
  static Dataset d;
  return d;
}

// The reference: libturbojpeg decodes to RGB, laid out as CHW floats.
std::vector<float> reference(const std::vector<uint8_t>& jpg) {
  tjhandle h = tjInitDecompress();
  std::vector<uint8_t> rgb(size_t(kW * kH * 3));
  EXPECT_EQ(tjDecompress2(h, jpg.data(), jpg.size(), rgb.data(), kW, 0, kH, TJPF_RGB, TJFLAG_ACCURATEDCT), 0)
      << tjGetErrorStr();
  tjDestroy(h);
  std::vector<float> chw(rgb.size());
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < kW * kH; ++p) chw[size_t(c * kW * kH + p)] = float(rgb[size_t(p * 3 + c)]);
  return chw;
}

struct Epoch {
  std::vector<std::vector<float>> images;  // per sample, CHW
  std::vector<std::vector<float>> labels;
  std::vector<uint64_t> ids;
  std::vector<int32_t> pads;
};

Epoch run(std::vector<std::pair<std::string, std::string>> params, std::string* err = nullptr) {
  params.push_back({"path_imgrec", data().rec});
  std::vector<const char*> k, v;
  for (auto& [key, val] : params) {
    k.push_back(key.c_str());
    v.push_back(val.c_str());
  }
  Epoch e;
  mx_dataiter_t it = nullptr;
  if (mx_dataiter_create("ImageRecordIter", uint32_t(k.size()), k.data(), v.data(), &it) != 0) {
    if (err) *err = mx_get_last_error();
    else ADD_FAILURE() << mx_get_last_error();
    return e;
  }
  for (;;) {
    int32_t has = 0;
    if (mx_dataiter_next(it, &has) != 0) {
      if (err) *err = mx_get_last_error();
      else ADD_FAILURE() << mx_get_last_error();
      break;
    }
    if (!has) break;
    mx_ndarray_t d = nullptr, l = nullptr;
    EXPECT_MX_OK(mx_dataiter_get_data(it, &d));
    EXPECT_MX_OK(mx_dataiter_get_label(it, &l));
    Arr da(d), la(l);
    const auto shape = da.shape();
    const auto x = da.to_vector<float>(), y = la.to_vector<float>();
    const size_t per = x.size() / size_t(shape[0]), lw = y.size() / size_t(shape[0]);
    for (size_t i = 0; i < size_t(shape[0]); ++i) {
      e.images.emplace_back(x.begin() + long(i * per), x.begin() + long((i + 1) * per));
      e.labels.emplace_back(y.begin() + long(i * lw), y.begin() + long((i + 1) * lw));
    }
    const uint64_t* idx = nullptr;
    uint64_t n = 0;
    EXPECT_MX_OK(mx_dataiter_get_index(it, &idx, &n));
    e.ids.insert(e.ids.end(), idx, idx + n);
    int32_t pad = 0;
    EXPECT_MX_OK(mx_dataiter_get_pad(it, &pad));
    e.pads.push_back(pad);
  }
  mx_dataiter_free(it);
  return e;
}

const std::string kShape = "(3," + std::to_string(kH) + "," + std::to_string(kW) + ")";

TEST(ImageRecordIter, DecodedPixelsMatchAReferenceDecode) {
  const Epoch e = run({{"data_shape", kShape}, {"batch_size", "4"}, {"label_width", "2"}});
  ASSERT_EQ(e.images.size(), size_t(kN));
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(e.ids[size_t(i)], uint64_t(100 + i));
    EXPECT_EQ(e.labels[size_t(i)], (std::vector<float>{float(i % 3), float(i)}));
    const auto ref = reference(data().jpegs[size_t(i)]);
    double worst = 0;
    for (size_t p = 0; p < ref.size(); ++p) worst = std::max(worst, double(std::fabs(e.images[size_t(i)][p] - ref[p])));
    EXPECT_LE(worst, 2.0) << "image " << i << ": decoders differ by more than JPEG rounding";
  }
}

TEST(ImageRecordIter, NormalisationAndTheIndexFile) {
  const Epoch plain = run({{"data_shape", kShape}, {"batch_size", "6"}, {"path_imgidx", data().idx}});
  const Epoch norm = run({{"data_shape", kShape}, {"batch_size", "6"}, {"mean_r", "10"}, {"mean_g", "20"}, {"mean_b", "30"},
                          {"std_r", "2"}, {"std_g", "4"}, {"std_b", "8"}, {"scale", "0.5"}});
  ASSERT_EQ(plain.images.size(), size_t(kN));
  ASSERT_EQ(norm.images.size(), size_t(kN));
  const double mean[3] = {10, 20, 30}, sd[3] = {2, 4, 8};
  for (size_t i = 0; i < size_t(kN); ++i)
    for (size_t p = 0; p < plain.images[i].size(); ++p) {
      const size_t c = p / size_t(kW * kH);
      ASSERT_NEAR(norm.images[i][p], (plain.images[i][p] - mean[c]) / sd[c] * 0.5, 1e-4);
    }
}

TEST(ImageRecordIter, AugmentationsDependOnTheSeedNotOnTheThreadCount) {
  auto params = [](const char* threads, const char* seed) {
    return std::vector<std::pair<std::string, std::string>>{
        {"data_shape", "(3,24,24)"}, {"batch_size", "5"},      {"shuffle", "True"},         {"seed", seed},
        {"rand_crop", "True"},       {"rand_mirror", "True"},  {"max_rotate_angle", "10"},  {"brightness", "0.3"},
        {"contrast", "0.3"},         {"saturation", "0.3"},    {"pca_noise", "0.1"},        {"inter_method", "10"},
        {"preprocess_threads", threads}};
  };
  const Epoch one = run(params("1", "5")), three = run(params("3", "5")), other = run(params("3", "6"));
  ASSERT_EQ(one.images.size(), 15u);  // 12 images, the last batch wrapped (round_batch)
  EXPECT_EQ(one.pads.back(), 3);
  EXPECT_EQ(one.ids, three.ids);
  EXPECT_EQ(one.images, three.images);
  EXPECT_NE(one.images, other.images);
  auto resized = params("2", "5");
  resized.push_back({"random_resized_crop", "True"});
  const Epoch rr1 = run(resized), rr2 = run(resized);
  EXPECT_EQ(rr1.images, rr2.images);
}

TEST(ImageRecordIter, RandMirrorFlipsSomeImagesLeftToRight) {
  const Epoch e = run({{"data_shape", kShape}, {"batch_size", "4"}, {"rand_mirror", "True"}, {"seed", "1"}});
  ASSERT_EQ(e.images.size(), size_t(kN));
  int flipped = 0, kept = 0;
  for (int i = 0; i < kN; ++i) {
    const auto ref = reference(data().jpegs[size_t(i)]);
    double same = 0, mirrored = 0;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x) {
          const float got = e.images[size_t(i)][size_t((c * kH + y) * kW + x)];
          same = std::max(same, double(std::fabs(got - ref[size_t((c * kH + y) * kW + x)])));
          mirrored = std::max(mirrored, double(std::fabs(got - ref[size_t((c * kH + y) * kW + (kW - 1 - x))])));
        }
    if (same <= 2) ++kept;
    else if (mirrored <= 2) ++flipped;
    else ADD_FAILURE() << "image " << i << " is neither the original nor its mirror";
  }
  EXPECT_GT(flipped, 0);
  EXPECT_GT(kept, 0);
}

TEST(ImageRecordIter, ShardsPartitionTheRecords) {
  std::multiset<uint64_t> all;
  for (int part = 0; part < 3; ++part) {
    const Epoch e = run({{"data_shape", kShape}, {"batch_size", "4"}, {"num_parts", "3"},
                         {"part_index", std::to_string(part)}, {"round_batch", "False"}});
    all.insert(e.ids.begin(), e.ids.end());
  }
  ASSERT_EQ(all.size(), size_t(kN));
  for (int i = 0; i < kN; ++i) EXPECT_EQ(all.count(uint64_t(100 + i)), 1u);
}

TEST(ImageRecordIter, AnUndecodableImageIsAnErrorNamingFileAndOffset) {
  const fs::path bad = data().dir / "bad.rec";
  mx_recordio_writer_t w = nullptr;
  ASSERT_MX_OK(mx_recordio_writer_create(bad.c_str(), nullptr, &w));
  const std::string good = header(0, 1, 1) + std::string(data().jpegs[0].begin(), data().jpegs[0].end());
  const std::string junk = header(0, 2, 2) + "this is not an image";
  uint64_t junk_at = 0;
  ASSERT_MX_OK(mx_recordio_writer_write(w, good.data(), good.size()));
  ASSERT_MX_OK(mx_recordio_writer_tell(w, &junk_at));
  ASSERT_MX_OK(mx_recordio_writer_write(w, junk.data(), junk.size()));
  ASSERT_MX_OK(mx_recordio_writer_free(w));
  std::string err;
  const std::vector<std::pair<std::string, std::string>> params = {
      {"path_imgrec", bad.string()}, {"data_shape", kShape}, {"batch_size", "2"}};
  std::vector<const char*> k, v;
  for (auto& [key, val] : params) k.push_back(key.c_str()), v.push_back(val.c_str());
  mx_dataiter_t it = nullptr;
  ASSERT_MX_OK(mx_dataiter_create("ImageRecordIter", uint32_t(k.size()), k.data(), v.data(), &it));
  int32_t has = 0;
  EXPECT_EQ(mx_dataiter_next(it, &has), -1);
  err = mx_get_last_error();
  EXPECT_NE(err.find("bad.rec"), std::string::npos) << err;
  EXPECT_NE(err.find("byte " + std::to_string(junk_at)), std::string::npos) << err;
  EXPECT_NE(err.find("cannot decode"), std::string::npos) << err;
  mx_dataiter_free(it);
  run({{"data_shape", "(1,32,40)"}, {"batch_size", "2"}}, &err);
  EXPECT_NE(err.find("data_shape"), std::string::npos) << err;
}

}  // namespace

namespace {

TEST(Im2rec, PacksAFolderPerClassThatImageRecordIterReads) {
  const fs::path root = data().dir / "folders";
  for (const char* cls : {"cat", "dog"}) fs::create_directories(root / cls);
  const int counts[2] = {3, 2};
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < counts[c]; ++i) {
      cv::Mat img(50 + 10 * i, 60, CV_8UC3, cv::Scalar(40.0 * i, 100.0 * c, 200));
      cv::imwrite((root / (c ? "dog" : "cat") / ("img" + std::to_string(i) + ".png")).string(), img);
    }
  std::ofstream(root / "cat" / "broken.jpg") << "not a jpeg";
  const std::string prefix = (data().dir / "pets").string();
  const std::string cmd = std::string(MX_IM2REC) + " --resize 32 --quality 90 " + prefix + " " + root.string() + " > " +
                          prefix + ".log 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream log(prefix + ".log");
  const std::string out((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(out.find("skipping"), std::string::npos) << out;
  EXPECT_NE(out.find("packed 5 images"), std::string::npos) << out;
  std::vector<std::pair<std::string, std::string>> params = {
      {"path_imgrec", prefix + ".rec"}, {"path_imgidx", prefix + ".idx"}, {"data_shape", "(3,32,32)"},
      {"batch_size", "5"}};
  std::vector<const char*> k, v;
  for (auto& [key, val] : params) k.push_back(key.c_str()), v.push_back(val.c_str());
  mx_dataiter_t it = nullptr;
  ASSERT_MX_OK(mx_dataiter_create("ImageRecordIter", uint32_t(k.size()), k.data(), v.data(), &it));
  int32_t has = 0;
  ASSERT_MX_OK(mx_dataiter_next(it, &has));
  ASSERT_EQ(has, 1);
  mx_ndarray_t l = nullptr;
  ASSERT_MX_OK(mx_dataiter_get_label(it, &l));
  Arr labels(l);
  std::vector<float> got = labels.to_vector<float>();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<float>{0, 0, 0, 1, 1}));  // broken.jpg skipped
  mx_dataiter_free(it);

}

TEST(ImageRecordIter, PngRecordsDecodeLosslessly) {
  const fs::path dir = data().dir / "png";
  fs::create_directories(dir);
  const std::string rec = (dir / "p.rec").string();
  mx_recordio_writer_t w = nullptr;
  ASSERT_MX_OK(mx_recordio_writer_create(rec.c_str(), nullptr, &w));
  std::vector<cv::Mat> images;
  std::mt19937 rng(9);
  for (int i = 0; i < 3; ++i) {
    cv::Mat img(kH, kW, CV_8UC3);
    for (int y = 0; y < kH; ++y)
      for (int x = 0; x < kW; ++x) img.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(rng()), uint8_t(rng()), uint8_t(rng()));
    std::vector<uint8_t> bytes;
    cv::imencode(".png", img, bytes);
    const std::string r = header(0, float(i), uint64_t(i)) + std::string(bytes.begin(), bytes.end());
    ASSERT_MX_OK(mx_recordio_writer_write(w, r.data(), r.size()));
    images.push_back(img);
  }
  ASSERT_MX_OK(mx_recordio_writer_free(w));
  std::vector<std::pair<std::string, std::string>> params = {{"path_imgrec", rec}, {"data_shape", kShape}, {"batch_size", "3"}};
  std::vector<const char*> k, v;
  for (auto& [key, val] : params) k.push_back(key.c_str()), v.push_back(val.c_str());
  mx_dataiter_t it = nullptr;
  ASSERT_MX_OK(mx_dataiter_create("ImageRecordIter", uint32_t(k.size()), k.data(), v.data(), &it));
  int32_t has = 0;
  ASSERT_MX_OK(mx_dataiter_next(it, &has));
  ASSERT_EQ(has, 1);
  mx_ndarray_t d = nullptr;
  ASSERT_MX_OK(mx_dataiter_get_data(it, &d));
  Arr da(d);
  const auto x = da.to_vector<float>();
  for (int i = 0; i < 3; ++i)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < kH; ++y)
        for (int xx = 0; xx < kW; ++xx)  // RGB planes out of BGR pixels
          ASSERT_EQ(x[size_t(((i * 3 + c) * kH + y) * kW + xx)], float(images[size_t(i)].at<cv::Vec3b>(y, xx)[2 - c]))
              << "image " << i << " channel " << c;
  mx_dataiter_free(it);
}

// The randomness contract (io/image/image_api.h): sample `slot` of epoch e draws from
// std::mt19937_64(seed * 0x9E3779B97F4A7C15 ^ (e << 40) ^ slot); with no resize, rotation or colour
// work the draws are the crop's x, then y (rng() % (free + 1)), then the mirror coin (rng() & 1).
// The reference replays those draws over an independent libturbojpeg decode, for two epochs.
TEST(ImageRecordIter, RandCropAndMirrorFollowTheSeedContract) {
  constexpr int kOutH = 24, kOutW = 30;
  constexpr uint64_t kSeed = 7;
  const std::vector<std::pair<std::string, std::string>> params = {
      {"path_imgrec", data().rec}, {"data_shape", "(3,24,30)"}, {"batch_size", "4"}, {"seed", std::to_string(kSeed)},
      {"rand_crop", "True"},       {"rand_mirror", "True"},     {"preprocess_threads", "3"}};
  std::vector<const char*> k, v;
  for (auto& [key, val] : params) k.push_back(key.c_str()), v.push_back(val.c_str());
  mx_dataiter_t it = nullptr;
  ASSERT_MX_OK(mx_dataiter_create("ImageRecordIter", uint32_t(k.size()), k.data(), v.data(), &it));
  int flipped = 0, moved = 0;
  for (uint64_t epoch = 0; epoch < 2; ++epoch) {
    if (epoch) {
      ASSERT_MX_OK(mx_dataiter_reset(it));
    }
    int slot = 0;
    for (int32_t has = 0; mx_dataiter_next(it, &has) == 0 && has;) {
      mx_ndarray_t d = nullptr;
      ASSERT_MX_OK(mx_dataiter_get_data(it, &d));
      const auto x = Arr(d).to_vector<float>();
      for (int b = 0; b < 4; ++b, ++slot) {
        std::mt19937_64 rng(kSeed * 0x9E3779B97F4A7C15ull ^ (epoch << 40) ^ uint64_t(slot));
        const int cx = int(rng() % uint64_t(kW - kOutW + 1)), cy = int(rng() % uint64_t(kH - kOutH + 1));
        const bool mirror = rng() & 1;
        flipped += mirror;
        moved += cx != (kW - kOutW) / 2 || cy != (kH - kOutH) / 2;
        const auto ref = reference(data().jpegs[size_t(slot)]);
        double worst = 0;
        for (int c = 0; c < 3; ++c)
          for (int yy = 0; yy < kOutH; ++yy)
            for (int xx = 0; xx < kOutW; ++xx) {
              const int sx = cx + (mirror ? kOutW - 1 - xx : xx);
              const float want = ref[size_t((c * kH + cy + yy) * kW + sx)];
              const float got = x[size_t(((b * 3 + c) * kOutH + yy) * kOutW + xx)];
              worst = std::max(worst, double(std::fabs(got - want)));
            }
        EXPECT_LE(worst, 2.0) << "epoch " << epoch << " sample " << slot << ": crop (" << cx << ", " << cy << ")"
                              << (mirror ? " mirrored" : "") << " is not what the seed contract gives";
      }
    }
    EXPECT_EQ(slot, kN) << "epoch " << epoch;
  }
  EXPECT_GT(flipped, 0);
  EXPECT_GT(moved, 0);
  mx_dataiter_free(it);
}

// The loader names every file it tried and why each failed, and says what the part is for.
TEST(ImagePart, AMissingPartIsNotFoundNamingEveryFileTried) {
  const fs::path dir = data().dir / "part";
  fs::create_directories(dir);
  const std::string absent = (dir / "nowhere" / "libmx_image.so").string();
  const std::string junk = (dir / "libmx_image.so").string();
  std::ofstream(junk) << "not a shared library";
  try {
    mx::io::load_image_part({absent, junk, MX_CPU_PLUGIN});
    FAIL() << "loaded an image part from nothing";
  } catch (const mx::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.code(), MX_ERR_NOT_FOUND) << msg;
    for (const std::string& want : {std::string("image decoding needs libmx_image.so (OpenCV)"), absent + ": no such file",
                                    junk + ": cannot be opened", std::string(MX_CPU_PLUGIN) + ": no symbol mx_image_init",
                                    std::string("MX_IMAGE_PLUGIN")})
      EXPECT_NE(msg.find(want), std::string::npos) << "no \"" << want << "\" in: " << msg;
  }
  try {
    mx::io::load_image_part({});
    FAIL() << "loaded an image part from no file";
  } catch (const mx::Error& e) {
    EXPECT_EQ(e.code(), MX_ERR_NOT_FOUND) << e.what();
  }
  // the built part, after the failures, loads and declares this ABI
  std::string from;
  const mx_image_api api = mx::io::load_image_part({absent, MX_IMAGE_PART}, &from);
  EXPECT_EQ(from, MX_IMAGE_PART);
  EXPECT_EQ(api.abi_major, MX_IMAGE_ABI_MAJOR);
  EXPECT_GE(api.struct_size, sizeof(mx_image_api));
  ASSERT_NE(api.decode_augment, nullptr);
  EXPECT_STREQ(api.name, "opencv");
  // and its C entry reports undecodable bytes and bad params without throwing
  mx_image_augment_params p{};
  p.struct_size = sizeof(p);
  p.height = 2, p.width = 2, p.std[0] = p.std[1] = p.std[2] = 1, p.scale = 1;
  float out[12];
  char err[64] = "";
  EXPECT_EQ(api.decode_augment("not an image", 12, &p, 0, out, err, sizeof(err)), MX_IMAGE_UNDECODABLE);
  EXPECT_EQ(api.decode_augment("", 0, &p, 0, out, err, sizeof(err)), MX_IMAGE_UNDECODABLE);
  p.height = 0;
  EXPECT_EQ(api.decode_augment("x", 1, &p, 0, out, err, sizeof(err)), MX_IMAGE_FAILED);
  EXPECT_NE(std::string(err).find("image size"), std::string::npos) << err;
}

// Through the C API, in a fresh process (the part is loaded once per process): with MX_IMAGE_PLUGIN
// pointing at no file, creating an ImageRecordIter is MX_ERR_NOT_FOUND naming that file and the part,
// the rest of mx still works, and a later creation with the part in place succeeds.
void create_without_the_part(const std::string& missing) {
  ::setenv("MX_IMAGE_PLUGIN", missing.c_str(), 1);
  const std::vector<std::pair<std::string, std::string>> params = {
      {"path_imgrec", data().rec}, {"data_shape", kShape}, {"batch_size", "4"}};
  std::vector<const char*> k, v;
  for (auto& [key, val] : params) k.push_back(key.c_str()), v.push_back(val.c_str());
  mx_dataiter_t it = nullptr;
  const int rc = mx_dataiter_create("ImageRecordIter", uint32_t(k.size()), k.data(), v.data(), &it);
  const std::string msg = rc ? mx_get_last_error() : "";
  std::fprintf(stderr, "rc %d code %d: %s\n", rc, int(mx_get_last_error_code()), msg.c_str());
  bool ok = rc == -1 && mx_get_last_error_code() == MX_ERR_NOT_FOUND && msg.find(missing + ": no such file") != std::string::npos &&
            msg.find("ImageRecordIter: image decoding needs libmx_image.so (OpenCV)") != std::string::npos;
  // everything else keeps working: an NDArray round trip
  {
    Arr a({2, 3});
    const std::vector<float> host = {1, 2, 3, 4, 5, 6};
    ok = ok && mx_ndarray_copy_from_host(a.get(), host.data(), sizeof(float) * host.size()) == 0 &&
         a.to_vector<float>() == host;
  }
  // a failed load is not remembered: with the part in place the iterator is created
  ::setenv("MX_IMAGE_PLUGIN", MX_IMAGE_PART, 1);
  ok = ok && mx_dataiter_create("ImageRecordIter", uint32_t(k.size()), k.data(), v.data(), &it) == 0;
  int32_t has = 0;
  ok = ok && mx_dataiter_next(it, &has) == 0 && has == 1;
  if (it) mx_dataiter_free(it);
  std::fprintf(stderr, ok ? "MISSING-PART-CHECKED\n" : "MISSING-PART-WRONG\n");
  std::fflush(stderr);
  std::exit(ok ? 0 : 1);
}

TEST(ImagePartDeathTest, WithoutThePartCreatingAnImageRecordIterIsNotFound) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: no part loaded yet
  const std::string missing = (fs::temp_directory_path() / "mx_no_image_part" / "libmx_image.so").string();
  EXPECT_EXIT(create_without_the_part(missing), ::testing::ExitedWithCode(0), "MISSING-PART-CHECKED");
}

}  // namespace
