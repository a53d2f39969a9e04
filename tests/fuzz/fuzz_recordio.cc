// libFuzzer target: the RecordIO reader and the image record header. Records are read until the
// end or an mx::Error; each record is also unpacked as an image record.
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "io/recordio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    mx::io::RecordReader r(data, size, "fuzz.rec");
    std::string rec;
    for (int i = 0; i < 10000 && r.read(rec); ++i) {
      if (r.tell() > size) __builtin_trap();
      try {
        mx::io::ImageRecordHeader h;
        std::vector<float> labels;
        const char* payload = nullptr;
        size_t n = 0;
        mx::io::unpack_image_record(rec, h, labels, payload, n);
        if (payload + n != rec.data() + rec.size()) __builtin_trap();
      } catch (const mx::Error&) {
      }
    }
  } catch (const mx::Error&) {
  }
  return 0;
}
