// libFuzzer target: CSVIter's row parser. The first byte picks the row width and the dtype; the
// rest is the file. Either every row has that width and every value fits the dtype, or mx::Error
// names the line.
#include <cstdint>
#include <sstream>
#include <string>

#include "base/error.h"
#include "io/iter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int64_t width = 1 + data[0] % 8;
  const int32_t dtypes[4] = {MX_FLOAT32, MX_INT32, MX_INT64, MX_UINT8};
  const int32_t dtype = dtypes[(data[0] / 8) % 4];
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  try {
    const auto values = mx::io::parse_csv(in, "fuzz.csv", width, "fuzz", dtype);
    if (values.size() % size_t(width) != 0) __builtin_trap();
    volatile int64_t sink = 0;
    for (double v : values) {  // the casts CSVIter makes are defined (UBSan checks them)
      if (dtype == MX_INT32) sink = static_cast<int32_t>(v);
      if (dtype == MX_INT64) sink = static_cast<int64_t>(v);
      if (dtype == MX_UINT8) sink = static_cast<uint8_t>(v);
    }
    (void)sink;
  } catch (const mx::Error&) {
  }
  return 0;
}
