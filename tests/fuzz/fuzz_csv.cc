// libFuzzer target: CSVIter's row parser. The first byte picks the row width; the rest is the
// file. Either every row has that width or mx::Error names the line.
#include <cstdint>
#include <sstream>
#include <string>

#include "base/error.h"
#include "io/iter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int64_t width = 1 + data[0] % 8;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  try {
    const auto values = mx::io::parse_csv(in, "fuzz.csv", width, "fuzz");
    if (values.size() % size_t(width) != 0) __builtin_trap();
  } catch (const mx::Error&) {
  }
  return 0;
}
