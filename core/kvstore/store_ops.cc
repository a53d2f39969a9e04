#include "kvstore/store_ops.h"

#include "base/dtype.h"
#include "base/error.h"
#include "ndarray/invoke.h"
#include "op/schema.h"

namespace mx::kv {

void push_op(const std::string& name, const AttrList& attrs, std::vector<NDArray> inputs,
             std::vector<NDArray> outputs, int priority) {
  const op::OpSchema& op = op::registry().get(name);
  std::vector<const char*> keys, vals;
  for (auto& [k, v] : attrs) {
    keys.push_back(k.c_str());
    vals.push_back(v.c_str());
  }
  const op::Attrs parsed = op::parse_attrs(op, int(keys.size()), keys.data(), vals.data());
  std::vector<const NDArray*> in;
  for (const NDArray& a : inputs) in.push_back(&a);
  auto call = prepare_call(op, parsed, in, outputs);
  std::vector<engine::Var*> reads, writes;
  for (const NDArray& a : inputs) reads.push_back(a.var());
  for (const NDArray& a : outputs) writes.push_back(a.var());
  engine::PushOptions opts;
  opts.priority = priority;
  opts.name = "kvstore";
  opts.category = profiler::kKVStore;
  const Device dev = outputs.at(0).device();
  // The arrays ride along so their storage lives until the op has run.
  engine::get().push(
      [call, keep_in = std::move(inputs), keep_out = std::move(outputs)](engine::RunContext& ctx) {
        run_prepared(*call, ctx, resource::RngDraw{}, false);
      },
      dev, reads, writes, opts);
}

NDArray zeros_like(const NDArray& like, Device dev) {
  NDArray z(like.shape(), like.dtype(), dev);
  std::vector<NDArray> out{z};
  push_op("_zeros", {{"shape", shape_str(like.shape())}, {"dtype", dtype_info(like.dtype()).name}}, {}, out, 0);
  return z;
}

}  // namespace mx::kv
