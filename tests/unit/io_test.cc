// The io module through the C API: RecordIO round trips (records holding the magic word, index
// files, seek/tell) and corrupt files; MNISTIter on Fashion-MNIST (every image once per epoch,
// labels and pixels equal to an independent zlib read of the files, shards partitioning the set);
// CSVIter's padding rules and error messages.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using mx::test::Arr;
namespace fs = std::filesystem;

const std::string kFashion = "/usr/share/datasets/fashion-mnist";

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("mx_io_test_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string error_of(int rc) { return rc == 0 ? std::string() : std::string(mx_get_last_error()); }

// ---------------------------------------------------------------- RecordIO

std::vector<std::string> read_all_records(const std::string& path) {
  mx_recordio_reader_t r = nullptr;
  EXPECT_MX_OK(mx_recordio_reader_create(path.c_str(), &r));
  std::vector<std::string> out;
  for (;;) {
    const void* data = nullptr;
    uint64_t size = 0;
    EXPECT_MX_OK(mx_recordio_reader_read(r, &data, &size));
    if (!data) break;
    out.emplace_back(static_cast<const char*>(data), size);
  }
  mx_recordio_reader_free(r);
  return out;
}

TEST(RecordIO, RoundTripIncludingRecordsThatContainTheMagic) {
  TempDir tmp;
  const uint32_t magic = 0xced7230a;
  std::mt19937 rng(1);
  std::vector<std::string> recs = {"", "a", "abcd", "hello world"};
  for (int i = 0; i < 40; ++i) {
    std::string r(size_t(rng() % 300), '\0');
    for (char& c : r) c = char(rng());
    // plant the magic at aligned and unaligned offsets, at the start and the end
    for (size_t at : {size_t(0), size_t(4 * (rng() % 8)), size_t(1 + rng() % 5), r.size() >= 4 ? r.size() - 4 : size_t(0)})
      if (at + 4 <= r.size()) std::memcpy(r.data() + at, &magic, 4);
    recs.push_back(r);
  }
  std::string two_magics(8, '\0');
  std::memcpy(two_magics.data(), &magic, 4);
  std::memcpy(two_magics.data() + 4, &magic, 4);
  recs.push_back(two_magics);

  const std::string path = tmp.file("a.rec"), idx = tmp.file("a.idx");
  mx_recordio_writer_t w = nullptr;
  ASSERT_MX_OK(mx_recordio_writer_create(path.c_str(), idx.c_str(), &w));
  std::vector<uint64_t> offsets;
  for (size_t i = 0; i < recs.size(); ++i) {
    uint64_t pos = 0;
    ASSERT_MX_OK(mx_recordio_writer_tell(w, &pos));
    offsets.push_back(pos);
    ASSERT_MX_OK(mx_recordio_writer_write_keyed(w, int64_t(i) * 10, recs[i].data(), recs[i].size()));
  }
  ASSERT_MX_OK(mx_recordio_writer_free(w));
  EXPECT_EQ(fs::file_size(path) % 4, 0u);

  EXPECT_EQ(read_all_records(path), recs);

  // The writer splits at each aligned magic (dmlc's format): two magics make three empty parts.
  const std::string split = tmp.file("split.rec");
  ASSERT_MX_OK(mx_recordio_writer_create(split.c_str(), nullptr, &w));
  ASSERT_MX_OK(mx_recordio_writer_write(w, two_magics.data(), two_magics.size()));
  ASSERT_MX_OK(mx_recordio_writer_free(w));
  EXPECT_EQ(fs::file_size(split), 24u);
  EXPECT_EQ(read_all_records(split), std::vector<std::string>{two_magics});

  // The index maps keys to the offsets tell() gave; seeking there reads that record.
  uint64_t n = 0;
  const int64_t* keys = nullptr;
  const uint64_t* offs = nullptr;
  ASSERT_MX_OK(mx_recordio_read_index(idx.c_str(), &n, &keys, &offs));
  ASSERT_EQ(n, recs.size());
  mx_recordio_reader_t r = nullptr;
  ASSERT_MX_OK(mx_recordio_reader_create(path.c_str(), &r));
  for (size_t i : {size_t(7), size_t(2), recs.size() - 1, size_t(0)}) {
    EXPECT_EQ(keys[i], int64_t(i) * 10);
    EXPECT_EQ(offs[i], offsets[i]);
    ASSERT_MX_OK(mx_recordio_reader_seek(r, offs[i]));
    const void* data = nullptr;
    uint64_t size = 0;
    ASSERT_MX_OK(mx_recordio_reader_read(r, &data, &size));
    EXPECT_EQ(std::string(static_cast<const char*>(data), size), recs[i]) << "record " << i;
  }
  mx_recordio_reader_free(r);
}

TEST(RecordIO, CorruptFilesAreErrorsNamingFileAndOffset) {
  TempDir tmp;
  const std::string path = tmp.file("b.rec");
  mx_recordio_writer_t w = nullptr;
  ASSERT_MX_OK(mx_recordio_writer_create(path.c_str(), nullptr, &w));
  const std::string rec(100, 'x');
  for (int i = 0; i < 3; ++i) ASSERT_MX_OK(mx_recordio_writer_write(w, rec.data(), rec.size()));
  ASSERT_MX_OK(mx_recordio_writer_free(w));
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto read_error = [&](const std::string& content) {
    const std::string p = tmp.file("corrupt.rec");
    std::ofstream(p, std::ios::binary) << content;
    mx_recordio_reader_t r = nullptr;
    EXPECT_MX_OK(mx_recordio_reader_create(p.c_str(), &r));
    std::string err;
    for (int i = 0; i < 10 && err.empty(); ++i) {
      const void* data = nullptr;
      uint64_t size = 0;
      err = error_of(mx_recordio_reader_read(r, &data, &size));
      if (err.empty() && !data) break;
    }
    mx_recordio_reader_free(r);
    return err;
  };
  // each record is 8 + 100 bytes: the second starts at 108
  std::string bad_magic = bytes;
  bad_magic[108] = 0x11;
  std::string err = read_error(bad_magic);
  EXPECT_NE(err.find("bad magic"), std::string::npos) << err;
  EXPECT_NE(err.find("byte 108"), std::string::npos) << err;
  EXPECT_NE(err.find("corrupt.rec"), std::string::npos) << err;
  err = read_error(bytes.substr(0, 108 + 50));  // cut inside the second record
  EXPECT_NE(err.find("cut off"), std::string::npos) << err;
  EXPECT_NE(err.find("byte 108"), std::string::npos) << err;
  err = read_error(bytes.substr(0, 108 + 5));  // cut inside the second header
  EXPECT_NE(err.find("header"), std::string::npos) << err;
  std::string orphan = bytes;  // a continuation part where a record should start
  const uint32_t lrec = (2u << 29) | 100u;
  std::memcpy(orphan.data() + 4, &lrec, 4);
  err = read_error(orphan);
  EXPECT_NE(err.find("continuation"), std::string::npos) << err;
  EXPECT_NE(error_of(mx_recordio_reader_create(tmp.file("missing.rec").c_str(), nullptr)), "");
  mx_recordio_reader_t r = nullptr;
  EXPECT_NE(error_of(mx_recordio_reader_create(tmp.file("missing.rec").c_str(), &r)).find("missing.rec"), std::string::npos);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
}

TEST(RecordIO, ImageRecordHeadersPackAndUnpack) {
  mx_image_record_header h;
  std::memset(&h, 0, sizeof(h));
  h.struct_size = sizeof(h);
  h.label = 4.5f;
  h.id = 77;
  h.id2 = 5;
  const std::string jpeg = "\xff\xd8 not really a jpeg";
  const void* rec = nullptr;
  uint64_t size = 0;
  ASSERT_MX_OK(mx_recordio_pack_image(&h, nullptr, 0, jpeg.data(), jpeg.size(), &rec, &size));
  // the layout by hand: uint32 flag, float label, uint64 id, uint64 id2, payload
  std::string want(24, '\0');
  const uint32_t flag = 0;
  std::memcpy(want.data(), &flag, 4);
  std::memcpy(want.data() + 4, &h.label, 4);
  std::memcpy(want.data() + 8, &h.id, 8);
  std::memcpy(want.data() + 16, &h.id2, 8);
  EXPECT_EQ(std::string(static_cast<const char*>(rec), size), want + jpeg);

  const float labels[3] = {1, 2, 3};
  ASSERT_MX_OK(mx_recordio_pack_image(&h, labels, 3, jpeg.data(), jpeg.size(), &rec, &size));
  const std::string multi(static_cast<const char*>(rec), size);
  EXPECT_EQ(size, 24u + 12u + jpeg.size());
  mx_image_record_header out;
  std::memset(&out, 0, sizeof(out));
  out.struct_size = sizeof(out);
  const float* got = nullptr;
  uint32_t n = 0;
  const void* payload = nullptr;
  uint64_t psize = 0;
  ASSERT_MX_OK(mx_recordio_unpack_image(multi.data(), multi.size(), &out, &got, &n, &payload, &psize));
  EXPECT_EQ(out.flag, 3u);
  EXPECT_EQ(out.id, 77u);
  EXPECT_EQ(out.id2, 5u);
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(std::vector<float>(got, got + 3), std::vector<float>(labels, labels + 3));
  EXPECT_EQ(std::string(static_cast<const char*>(payload), psize), jpeg);
  // too short, or fewer labels than the flag announces: errors
  EXPECT_EQ(mx_recordio_unpack_image(multi.data(), 10, &out, &got, &n, &payload, &psize), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("24-byte header"), std::string::npos) << mx_get_last_error();
  EXPECT_EQ(mx_recordio_unpack_image(multi.data(), 30, &out, &got, &n, &payload, &psize), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("3 labels"), std::string::npos) << mx_get_last_error();
}

// ---------------------------------------------------------------- iterators

mx_dataiter_t make_iter(const char* name, std::vector<std::pair<std::string, std::string>> params, std::string* err = nullptr) {
  std::vector<const char*> k, v;
  for (auto& [key, val] : params) {
    k.push_back(key.c_str());
    v.push_back(val.c_str());
  }
  mx_dataiter_t it = nullptr;
  const int rc = mx_dataiter_create(name, uint32_t(k.size()), k.data(), v.data(), &it);
  if (err) *err = error_of(rc);
  else EXPECT_EQ(rc, 0) << mx_get_last_error();
  return it;
}

struct BatchView {
  std::vector<float> data, label;
  std::vector<int64_t> data_shape;
  int32_t pad = 0;
  std::vector<uint64_t> index;
};

bool next_batch(mx_dataiter_t it, BatchView& b) {
  int32_t has = 0;
  EXPECT_MX_OK(mx_dataiter_next(it, &has));
  if (!has) return false;
  mx_ndarray_t d = nullptr, l = nullptr;
  EXPECT_MX_OK(mx_dataiter_get_data(it, &d));
  EXPECT_MX_OK(mx_dataiter_get_label(it, &l));
  Arr da(d), la(l);
  b.data = da.to_vector<float>();
  b.label = la.to_vector<float>();
  b.data_shape = da.shape();
  EXPECT_MX_OK(mx_dataiter_get_pad(it, &b.pad));
  const uint64_t* idx = nullptr;
  uint64_t n = 0;
  EXPECT_MX_OK(mx_dataiter_get_index(it, &idx, &n));
  b.index.assign(idx, idx + n);
  return true;
}

// An independent read of a gzip'd idx file: (header dims, payload).
std::vector<uint8_t> gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  std::vector<uint8_t> out;
  if (!f) return out;
  uint8_t buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(f);
  return out;
}

TEST(MNISTIter, FashionMnistEveryImageOncePerEpochWithItsLabelAndPixels) {
  if (!fs::exists(kFashion + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST is not installed (Debian package dataset-fashion-mnist; scripts/setup.sh installs it)";
  const auto images = gunzip(kFashion + "/train-images-idx3-ubyte.gz");
  const auto labels = gunzip(kFashion + "/train-labels-idx1-ubyte.gz");
  ASSERT_EQ(images.size(), 16u + 60000u * 784u);
  ASSERT_EQ(labels.size(), 8u + 60000u);
  mx_dataiter_t it = make_iter("MNISTIter", {{"image", kFashion + "/train-images-idx3-ubyte.gz"},
                                             {"label", kFashion + "/train-labels-idx1-ubyte.gz"},
                                             {"batch_size", "100"},
                                             {"shuffle", "True"},
                                             {"seed", "7"},
                                             {"silent", "True"}});
  ASSERT_NE(it, nullptr);
  std::vector<uint64_t> first_epoch;
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<int> seen(60000, 0);
    std::vector<uint64_t> order;
    BatchView b;
    int batches = 0;
    while (next_batch(it, b)) {
      ++batches;
      ASSERT_EQ(b.data_shape, (std::vector<int64_t>{100, 1, 28, 28}));
      ASSERT_EQ(b.index.size(), 100u);
      EXPECT_EQ(b.pad, 0);
      for (size_t i = 0; i < 100; ++i) {
        const uint64_t k = b.index[i];
        ASSERT_LT(k, 60000u);
        ++seen[k];
        order.push_back(k);
        ASSERT_EQ(b.label[i], float(labels[8 + k])) << "image " << k;
        if (i % 37 == 0) {  // pixels of a sample of images: x / 256
          for (size_t p = 0; p < 784; ++p) ASSERT_EQ(b.data[i * 784 + p] * 256.0f, float(images[16 + k * 784 + p]));
        }
      }
    }
    EXPECT_EQ(batches, 600);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 60000) << "epoch " << epoch;
    if (epoch == 0) first_epoch = order;
    else EXPECT_NE(order, first_epoch) << "shuffle draws a new order every epoch";
    ASSERT_MX_OK(mx_dataiter_reset(it));
  }
  mx_dataiter_free(it);
}

TEST(MNISTIter, FourShardsPartitionTheSet) {
  if (!fs::exists(kFashion + "/t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << "Fashion-MNIST is not installed";
  std::vector<int> owner(10000, -1);
  for (int part = 0; part < 4; ++part) {
    mx_dataiter_t it = make_iter("MNISTIter", {{"image", kFashion + "/t10k-images-idx3-ubyte.gz"},
                                               {"label", kFashion + "/t10k-labels-idx1-ubyte.gz"},
                                               {"batch_size", "50"},
                                               {"flat", "True"},
                                               {"num_parts", "4"},
                                               {"part_index", std::to_string(part)},
                                               {"silent", "True"}});
    BatchView b;
    while (next_batch(it, b)) {
      ASSERT_EQ(b.data_shape, (std::vector<int64_t>{50, 784}));
      for (uint64_t k : b.index) {
        ASSERT_EQ(owner[k], -1) << "image " << k << " is in parts " << owner[k] << " and " << part;
        owner[k] = part;
      }
    }
    mx_dataiter_free(it);
  }
  EXPECT_EQ(std::count(owner.begin(), owner.end(), -1), 0);
}

TEST(MNISTIter, CorruptOrTruncatedFilesAreErrorsNamingTheFile) {
  TempDir tmp;
  // a valid 2-image file, then broken variants
  std::string img = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2};
  img += std::string(8, '\x7f');
  const std::string lbl = std::string{0, 0, 8, 1, 0, 0, 0, 2} + std::string{1, 2};
  auto gz = [&](const std::string& name, const std::string& content) {
    const std::string p = tmp.file(name);
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, content.data(), unsigned(content.size()));
    gzclose(f);
    return p;
  };
  const std::string good_img = gz("img.gz", img), good_lbl = gz("lbl.gz", lbl);
  std::string err;
  mx_dataiter_t it = make_iter("MNISTIter", {{"image", good_img}, {"label", good_lbl}, {"batch_size", "2"}, {"silent", "True"}}, &err);
  EXPECT_EQ(err, "");
  mx_dataiter_free(it);

  make_iter("MNISTIter", {{"image", gz("short.gz", img.substr(0, 20))}, {"label", good_lbl}, {"silent", "True"}}, &err);
  EXPECT_NE(err.find("short.gz"), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  std::string wrong = img;
  wrong[3] = 1;
  make_iter("MNISTIter", {{"image", gz("magic.gz", wrong)}, {"label", good_lbl}, {"silent", "True"}}, &err);
  EXPECT_NE(err.find("magic"), std::string::npos) << err;
  // a gzip stream cut in the middle
  std::string z;
  {
    std::ifstream in(good_img, std::ios::binary);
    z.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string cut = tmp.file("cut.gz");
  std::ofstream(cut, std::ios::binary) << z.substr(0, z.size() / 2);
  make_iter("MNISTIter", {{"image", cut}, {"label", good_lbl}, {"silent", "True"}}, &err);
  EXPECT_NE(err.find("cut.gz"), std::string::npos) << err;
  make_iter("MNISTIter", {{"image", tmp.file("nope.gz")}, {"label", good_lbl}, {"silent", "True"}}, &err);
  EXPECT_NE(err.find("nope.gz"), std::string::npos) << err;
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
  make_iter("MNISTIter", {{"image", good_img}, {"label", good_lbl}, {"batch_sise", "2"}}, &err);
  EXPECT_NE(err.find("batch_sise"), std::string::npos) << err;
}

TEST(CSVIter, RoundBatchWrapsAndTheNextEpochStartsBehindTheWrap) {
  TempDir tmp;
  std::string data, label;
  for (int i = 0; i < 10; ++i) {
    data += std::to_string(i) + "," + std::to_string(i * 10) + "\n";
    label += std::to_string(100 + i) + "\n";
  }
  write_text(tmp.file("d.csv"), data);
  write_text(tmp.file("l.csv"), label);
  mx_dataiter_t it = make_iter("CSVIter", {{"data_csv", tmp.file("d.csv")},
                                           {"data_shape", "(2,)"},
                                           {"label_csv", tmp.file("l.csv")},
                                           {"batch_size", "4"}});
  auto epoch = [&] {
    std::vector<std::pair<std::vector<uint64_t>, int32_t>> out;
    BatchView b;
    while (next_batch(it, b)) {
      for (size_t i = 0; i < b.index.size(); ++i) {
        EXPECT_EQ(b.data[2 * i], float(b.index[i]));
        EXPECT_EQ(b.data[2 * i + 1], float(b.index[i] * 10));
        EXPECT_EQ(b.label[i], float(100 + b.index[i]));
      }
      out.push_back({b.index, b.pad});
    }
    return out;
  };
  using E = std::vector<std::pair<std::vector<uint64_t>, int32_t>>;
  EXPECT_EQ(epoch(), (E{{{0, 1, 2, 3}, 0}, {{4, 5, 6, 7}, 0}, {{8, 9, 0, 1}, 2}}));
  ASSERT_MX_OK(mx_dataiter_reset(it));
  EXPECT_EQ(epoch(), (E{{{2, 3, 4, 5}, 0}, {{6, 7, 8, 9}, 0}}));
  ASSERT_MX_OK(mx_dataiter_reset(it));
  EXPECT_EQ(epoch(), (E{{{0, 1, 2, 3}, 0}, {{4, 5, 6, 7}, 0}, {{8, 9, 0, 1}, 2}}));
  mx_dataiter_free(it);

  // without round_batch the last batch is padded with zeros
  it = make_iter("CSVIter", {{"data_csv", tmp.file("d.csv")}, {"data_shape", "(2,)"}, {"batch_size", "4"}, {"round_batch", "False"}});
  BatchView b;
  int n = 0;
  while (next_batch(it, b)) ++n;
  EXPECT_EQ(n, 3);
  EXPECT_EQ(b.pad, 2);
  EXPECT_EQ(b.data, (std::vector<float>{8, 80, 9, 90, 0, 0, 0, 0}));
  EXPECT_EQ(b.label, (std::vector<float>{0, 0, 0, 0}));  // no label_csv: zeros
  mx_dataiter_free(it);
}

TEST(CSVIter, BadRowsAreErrorsNamingFileLineAndColumn) {
  TempDir tmp;
  write_text(tmp.file("w.csv"), "1,2,3\n4,5,6\n7,8\n");
  std::string err;
  make_iter("CSVIter", {{"data_csv", tmp.file("w.csv")}, {"data_shape", "(3,)"}, {"batch_size", "1"}}, &err);
  EXPECT_NE(err.find("w.csv line 3 has 2 values, expected 3"), std::string::npos) << err;
  write_text(tmp.file("n.csv"), "1,2,3\n4,x5,6\n");
  make_iter("CSVIter", {{"data_csv", tmp.file("n.csv")}, {"data_shape", "(3,)"}, {"batch_size", "1"}}, &err);
  EXPECT_NE(err.find("n.csv line 2, column 2"), std::string::npos) << err;
  make_iter("CSVIter", {{"data_shape", "(3,)"}, {"batch_size", "1"}}, &err);
  EXPECT_NE(err.find("data_csv"), std::string::npos) << err;
  make_iter("NoSuchIter", {}, &err);
  EXPECT_NE(err.find("NoSuchIter"), std::string::npos) << err;
  EXPECT_NE(err.find("MNISTIter"), std::string::npos) << err;
}

TEST(DataIter, InfoListsParamsWithDocs) {
  uint32_t n = 0;
  const char** names = nullptr;
  ASSERT_MX_OK(mx_dataiter_list(&n, &names));
  std::set<std::string> all(names, names + n);
  EXPECT_TRUE(all.count("MNISTIter") && all.count("CSVIter"));
  mx_dataiter_info info;
  std::memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  ASSERT_MX_OK(mx_dataiter_get_info("CSVIter", &info));
  std::set<std::string> params(info.param_names, info.param_names + info.num_params);
  for (const char* p : {"data_csv", "data_shape", "label_csv", "label_shape", "batch_size", "round_batch", "dtype",
                        "prefetch_buffer", "ctx"})
    EXPECT_TRUE(params.count(p)) << p;
}

}  // namespace
