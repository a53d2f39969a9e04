// CSVIter: rows of numbers reshaped to data_shape (and label_shape from label_csv, zeros without
// one). The last batch is completed MXNet's way: round_batch wraps to the first samples (and the
// next epoch starts after them), otherwise it is filled with zeros; either way `pad` counts them.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "base/dtype.h"
#include "base/error.h"
#include "io/file.h"
#include "io/iter.h"

namespace mx::io {

namespace {

// [lo, hi) of the values (truncated toward zero) that an integer dtype holds: anything else, NaN
// included, would be an undefined cast.
bool fits(double v, int32_t dtype) {
  double lo = 0, hi = 0;
  switch (dtype) {
    case MX_INT32: lo = -2147483648.0, hi = 2147483648.0; break;
    case MX_INT64: lo = -9223372036854775808.0, hi = 9223372036854775808.0; break;
    case MX_UINT8: lo = 0, hi = 256; break;
    default: return true;
  }
  const double t = std::trunc(v);
  return t >= lo && t < hi;
}

}  // namespace

std::vector<double> parse_csv(std::istream& in, const std::string& path, int64_t width, const std::string& what,
                              int32_t dtype) {
  std::vector<double> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
    int64_t col = 0;
    const char* p = line.c_str();
    for (;;) {
      while (*p == ' ' || *p == '\t') ++p;
      char* end = nullptr;
      const double v = std::strtod(p, &end);
      const char* e = end;
      while (*e == ' ' || *e == '\t') ++e;
      if (end == p || (*e != ',' && *e != '\0'))
        fail(MX_ERR_IO, "CSVIter: ", path, " line ", n, ", column ", col + 1, ": '",
             std::string(p, std::strcspn(p, ",")), "' is not a number");
      if (!fits(v, dtype))
        fail(MX_ERR_IO, "CSVIter: ", path, " line ", n, ", column ", col + 1, ": ", std::string(p, std::strcspn(p, ",")),
             " does not fit ", dtype_info(dtype).name);
      out.push_back(v);
      ++col;
      if (*e == '\0') break;
      p = e + 1;
    }
    if (col != width)
      fail(MX_ERR_IO, "CSVIter: ", path, " line ", n, " has ", col, " values, expected ", width, " (", what, ")");
  }
  if (in.bad()) fail(MX_ERR_IO, "CSVIter: read error in ", path);
  return out;
}

namespace {

// A regular file only: CSV has no header to bound a stream by (/dev/zero never ends a line).
std::vector<double> read_csv(const std::string& path, int64_t width, const std::string& shape_name, const Shape& shape,
                             int32_t dtype) {
  std::istringstream in(read_regular_file(path, "CSVIter"));
  return parse_csv(in, path, width, shape_name + " " + shape_str(shape), dtype);
}

template <typename T>
void put(char* dst, size_t at, double v) {
  const T t = static_cast<T>(v);
  std::memcpy(dst + at * sizeof(T), &t, sizeof(T));
}

class CsvSource : public BatchSource {
 public:
  explicit CsvSource(const op::Attrs& a)
      : data_shape_(a.shape("data_shape")),
        label_shape_(a.shape("label_shape")),
        batch_(a.i("batch_size")),
        round_(a.b("round_batch")),
        dtype_(a.dtype("dtype")) {
    // the shapes, and the batches made of them, before any product is taken
    const uint64_t es = uint64_t(dtype_info(dtype_).bytes);
    const int64_t dw = check_shape(data_shape_, "CSVIter: data_shape", es);
    const int64_t lw = check_shape(label_shape_, "CSVIter: label_shape", es);
    if (dw < 1 || lw < 1) fail(MX_ERR_INVALID_ARGUMENT, "CSVIter: data_shape and label_shape must be non-empty");
    Shape batch_data{batch_}, batch_label{batch_};
    batch_data.append(data_shape_.begin(), data_shape_.end());
    batch_label.append(label_shape_.begin(), label_shape_.end());
    check_shape(batch_data, "CSVIter: batch_size with data_shape", es);
    check_shape(batch_label, "CSVIter: batch_size with label_shape", es);
    data_ = read_csv(a.str("data_csv"), dw, "data_shape", data_shape_, dtype_);
    n_ = int64_t(data_.size()) / dw;
    const std::string label_csv = a.str("label_csv");
    if (label_csv != "NULL" && !label_csv.empty()) {
      label_ = read_csv(label_csv, lw, "label_shape", label_shape_, dtype_);
      if (int64_t(label_.size()) / lw != n_)
        fail(MX_ERR_IO, "CSVIter: ", label_csv, " has ", label_.size() / size_t(lw), " rows but ", a.str("data_csv"),
             " has ", n_);
    }  // else the labels are the zeros next() starts from
    if (n_ == 0) fail(MX_ERR_IO, "CSVIter: ", a.str("data_csv"), " has no rows");
    if (round_ && n_ < batch_)
      fail(MX_ERR_INVALID_ARGUMENT, "CSVIter: round_batch needs at least batch_size (", batch_, ") rows, ",
           a.str("data_csv"), " has ", n_);
  }

  bool next(HostBatch& out) override {
    if (pos_ >= n_) return false;
    const int64_t dw = shape_size(data_shape_), lw = shape_size(label_shape_);
    const size_t es = size_t(dtype_info(dtype_).bytes);
    Shape ds{batch_}, ls{batch_};
    ds.append(data_shape_.begin(), data_shape_.end());
    if (lw > 1 || label_shape_.size() > 1) ls.append(label_shape_.begin(), label_shape_.end());
    out.allocate(ds, dtype_, ls, dtype_);
    std::memset(out.data_ptr(), 0, size_t(batch_ * dw) * es);  // padding slots stay zero
    std::memset(out.label_ptr(), 0, size_t(batch_ * lw) * es);
    out.index.clear();
    const int64_t take = std::min(batch_, n_ - pos_);
    auto copy = [&](int64_t slot, int64_t sample) {
      for (int64_t j = 0; j < dw; ++j) store(out.data_ptr(), size_t(slot * dw + j), data_[size_t(sample * dw + j)]);
      if (!label_.empty())
        for (int64_t j = 0; j < lw; ++j) store(out.label_ptr(), size_t(slot * lw + j), label_[size_t(sample * lw + j)]);
      out.index.push_back(uint64_t(sample));
    };
    for (int64_t i = 0; i < take; ++i) copy(i, pos_ + i);
    pos_ += take;
    out.pad = int32_t(batch_ - take);
    if (take < batch_ && round_) {
      for (int64_t i = take; i < batch_; ++i) copy(i, i - take);  // wrap to the first samples
      overflow_ = batch_ - take;
    }
    return true;
  }

  void reset() override {
    pos_ = round_ ? overflow_ : 0;  // MXNet: after a wrap the next epoch starts behind it
    overflow_ = 0;
  }

 private:
  void store(char* dst, size_t at, double v) const {
    switch (dtype_) {
      case MX_INT32: put<int32_t>(dst, at, v); break;
      case MX_INT64: put<int64_t>(dst, at, v); break;
      case MX_UINT8: put<uint8_t>(dst, at, v); break;
      case MX_FLOAT64: put<double>(dst, at, v); break;
      default: put<float>(dst, at, v); break;
    }
  }

  Shape data_shape_, label_shape_;
  int64_t batch_;
  bool round_;
  int32_t dtype_;
  std::vector<double> data_, label_;
  int64_t n_ = 0, pos_ = 0, overflow_ = 0;
};

}  // namespace

void register_csv(std::vector<IterSpec>& out) {
  IterSpec s;
  s.name = "CSVIter";
  s.doc = "Rows of a CSV file as samples of data_shape, labels from a second CSV file (or zeros).";
  op::ParamSpec batch = op::param_required(op::param_int("batch_size", "", "samples per batch"));
  batch.min = 1;
  s.params = {op::param_required(op::param_string("data_csv", "", "the data CSV file")),
              op::param_required(op::param_shape("data_shape", "", "shape of one sample")),
              op::param_string("label_csv", "NULL", "the label CSV file (NULL: zeros)"),
              op::param_shape("label_shape", "(1,)", "shape of one label"),
              batch,
              op::param_bool("round_batch", "True", "complete the last batch from the start (else with zeros)"),
              {"dtype", op::ParamType::kEnum, "float32", false, -1e308, 1e308, {"float32", "float64", "int32", "int64", "uint8"},
               "dtype of data and label"}};
  for (auto& p : prefetch_params()) s.params.push_back(p);
  s.make_source = [](const op::Attrs& a) { return std::unique_ptr<BatchSource>(new CsvSource(a)); };
  out.push_back(std::move(s));
}

}  // namespace mx::io
