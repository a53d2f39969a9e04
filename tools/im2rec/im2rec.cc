// im2rec: packs images into a RecordIO file (prefix.rec) with its index (prefix.idx), as MXNet's
// tools/im2rec.py does. The image list is prefix.lst ("index\tlabel[\tlabel...]\tpath" per line,
// paths relative to root); without one, it is made from root's sub-folders (one class per
// folder, in sorted order) and written out. Images are re-encoded (optionally resized) unless
// --pass-through; unreadable images are reported and skipped.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "io/recordio.h"

namespace fs = std::filesystem;

namespace {

struct Entry {
  int64_t index;
  std::vector<float> labels;
  std::string path;
};

struct Options {
  bool list_only = false, pass_through = false;
  int resize = 0, quality = 95;
  std::string encoding = ".jpg", prefix, root;
};

void usage() {
  std::fprintf(stderr,
               "usage: im2rec [--list] [--resize N] [--quality Q] [--encoding .jpg|.png] [--pass-through] prefix root\n"
               "  --list          only write prefix.lst (one class per sub-folder of root) and stop\n"
               "  --resize N      resize the shorter side to N pixels before encoding\n"
               "  --quality Q     JPEG quality (default 95) or PNG compression level\n"
               "  --pass-through  store the files' bytes as they are\n");
  std::exit(2);
}

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

std::vector<Entry> list_folders(const std::string& root) {
  std::vector<fs::path> classes;
  for (const auto& d : fs::directory_iterator(root))
    if (d.is_directory()) classes.push_back(d.path());
  std::sort(classes.begin(), classes.end());
  std::vector<Entry> out;
  for (size_t label = 0; label < classes.size(); ++label) {
    std::vector<fs::path> files;
    for (const auto& f : fs::recursive_directory_iterator(classes[label]))
      if (f.is_regular_file() && is_image(f.path())) files.push_back(f.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
      out.push_back({int64_t(out.size()), {float(label)}, fs::relative(f, root).string()});
  }
  return out;
}

std::vector<Entry> read_list(const std::string& path) {
  std::ifstream in(path);
  std::vector<Entry> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
    if (cols.size() < 3) mx::fail(MX_ERR_IO, path, " line ", n, ": expected 'index<TAB>label...<TAB>path'");
    Entry e{std::strtoll(cols[0].c_str(), nullptr, 10), {}, cols.back()};
    for (size_t i = 1; i + 1 < cols.size(); ++i) e.labels.push_back(std::strtof(cols[i].c_str(), nullptr));
    out.push_back(e);
  }
  return out;
}

void write_list(const std::string& path, const std::vector<Entry>& entries) {
  std::ofstream out(path);
  for (const Entry& e : entries) {
    out << e.index;
    for (float l : e.labels) out << '\t' << l;
    out << '\t' << e.path << '\n';
  }
  if (!out) mx::fail(MX_ERR_IO, "cannot write ", path);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) usage();
      return std::string(argv[++i]);
    };
    if (a == "--list") o.list_only = true;
    else if (a == "--pass-through") o.pass_through = true;
    else if (a == "--resize") o.resize = std::atoi(value().c_str());
    else if (a == "--quality") o.quality = std::atoi(value().c_str());
    else if (a == "--encoding") o.encoding = value();
    else if (a.rfind("--", 0) == 0) usage();
    else pos.push_back(a);
  }
  if (pos.size() != 2) usage();
  o.prefix = pos[0], o.root = pos[1];
  try {
    const std::string lst = o.prefix + ".lst";
    std::vector<Entry> entries;
    if (!o.list_only && fs::exists(lst)) {
      entries = read_list(lst);
    } else {
      entries = list_folders(o.root);
      write_list(lst, entries);
      std::printf("im2rec: wrote %s (%zu images)\n", lst.c_str(), entries.size());
      if (o.list_only) return 0;
    }
    mx::io::RecordWriter w(o.prefix + ".rec", o.prefix + ".idx");
    const std::vector<int> params =
        o.encoding == ".png" ? std::vector<int>{cv::IMWRITE_PNG_COMPRESSION, std::min(o.quality, 9)}
                             : std::vector<int>{cv::IMWRITE_JPEG_QUALITY, o.quality};
    size_t done = 0, skipped = 0;
    for (const Entry& e : entries) {
      const std::string file = (fs::path(o.root) / e.path).string();
      std::ifstream in(file, std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
      std::vector<uint8_t> payload;
      if (o.pass_through) {
        payload = bytes;
      } else {
        cv::Mat img = bytes.empty() ? cv::Mat() : cv::imdecode(bytes, cv::IMREAD_COLOR);
        if (img.empty()) {
          std::fprintf(stderr, "im2rec: skipping %s: cannot read it as an image\n", file.c_str());
          ++skipped;
          continue;
        }
        if (o.resize > 0) {
          const double f = double(o.resize) / std::min(img.cols, img.rows);
          cv::Mat r;
          cv::resize(img, r, cv::Size(std::max(1, int(img.cols * f + 0.5)), std::max(1, int(img.rows * f + 0.5))), 0, 0,
                     cv::INTER_AREA);
          img = r;
        }
        cv::imencode(o.encoding, img, payload, params);
      }
      mx::io::ImageRecordHeader h;
      h.id = uint64_t(e.index);
      const std::string rec = mx::io::pack_image_record(h, e.labels, payload.data(), payload.size());
      w.write_keyed(e.index, rec.data(), rec.size());
      if (++done % 1000 == 0) std::printf("im2rec: %zu / %zu images\n", done, entries.size());
    }
    w.close();
    std::printf("im2rec: packed %zu images into %s.rec (+ .idx)%s\n", done, o.prefix.c_str(),
                skipped ? (", skipped " + std::to_string(skipped)).c_str() : "");
    return skipped && !done ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "im2rec: %s\n", e.what());
    return 1;
  }
}
