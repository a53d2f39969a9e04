#include "base/dtype.h"

#include "base/error.h"

namespace mx {
namespace {

const DTypeInfo kTypes[] = {
    {MX_FLOAT32, "float32", 4, {kDLFloat, 32, 1}},  {MX_FLOAT64, "float64", 8, {kDLFloat, 64, 1}},
    {MX_FLOAT16, "float16", 2, {kDLFloat, 16, 1}},  {MX_UINT8, "uint8", 1, {kDLUInt, 8, 1}},
    {MX_INT32, "int32", 4, {kDLInt, 32, 1}},        {MX_INT8, "int8", 1, {kDLInt, 8, 1}},
    {MX_INT64, "int64", 8, {kDLInt, 64, 1}},        {MX_BOOL, "bool", 1, {kDLBoolCode, 8, 1}},
    {MX_BFLOAT16, "bfloat16", 2, {kDLBfloat, 16, 1}},
};

}  // namespace

bool dtype_known(int32_t flag) {
  for (const auto& t : kTypes)
    if (t.flag == flag) return true;
  return false;
}

const DTypeInfo& dtype_info(int32_t flag) {
  for (const auto& t : kTypes)
    if (t.flag == flag) return t;
  fail(MX_ERR_INVALID_ARGUMENT, "unknown dtype flag ", flag,
       " (expected float32=0, float64=1, float16=2, uint8=3, int32=4, int8=5, int64=6, bool=7, "
       "bfloat16=12)");
}

int32_t dtype_from_name(const std::string& name) {
  for (const auto& t : kTypes)
    if (name == t.name) return t.flag;
  fail(MX_ERR_INVALID_ARGUMENT, "unknown dtype '", name,
       "' (expected float32, float64, float16, bfloat16, uint8, int8, int32, int64, bool)");
}

int32_t dtype_from_dl(DLDataType dl) {
  if (dl.lanes == 1) {
    for (const auto& t : kTypes)
      if (t.dl.code == dl.code && t.dl.bits == dl.bits) return t.flag;
    if (dl.code == kDLUInt && dl.bits == 1) return MX_BOOL;
  }
  fail(MX_ERR_UNSUPPORTED, "DLPack dtype (code ", int(dl.code), ", bits ", int(dl.bits), ", lanes ",
       dl.lanes, ") has no mx equivalent");
}

}  // namespace mx
