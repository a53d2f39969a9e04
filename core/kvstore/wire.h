// Messages between dist_async workers and servers: one byte string per message,
//   u32 kind, u32 key length, key, i32 dtype, i32 ndim, i64 dims[ndim], f32 threshold, payload
// (the payload runs to the end: raw little-endian values, 2bit words when threshold > 0, or text).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/shape.h"

namespace mx::kv {

enum class MsgKind : uint32_t {
  kInit = 1,          // key, dtype, shape, value
  kPush = 2,          // key, dtype, shape, value (2bit words when threshold > 0)
  kPull = 3,          // key; the server replies with the value
  kSetOptimizer = 4,  // key = optimizer name; payload "k=v\n" lines
  kStop = 5,          // this worker is done
  kFlush = 6,         // the server replies (empty) once every earlier request of this worker is applied
  kSaveStates = 7,    // the server replies with its optimizer states as .params bytes
  kLoadStates = 8,    // payload: .params bytes of the states to take; the server replies (empty)
};

constexpr int32_t kRequestTag = 11;  // worker -> server
constexpr int32_t kReplyTag = 12;    // server -> worker

struct Msg {
  MsgKind kind{};
  std::string key;
  int32_t dtype = 0;
  Shape shape;
  float threshold = 0;
  std::string_view payload;  // into the buffer decoded
};

std::string encode(MsgKind kind, const std::string& key, int32_t dtype, const Shape& shape, float threshold,
                   const void* payload, uint64_t bytes);
// Throws MX_ERR_IO naming `from` and the offset on a malformed message.
Msg decode(const std::string& buf, const std::string& from);

}  // namespace mx::kv
