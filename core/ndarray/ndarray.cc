#include "ndarray/ndarray.h"

#include <cstring>

#include "base/dtype.h"
#include "base/error.h"
#include "engine/var.h"
#include "plugin/registry.h"

namespace mx {

// ---------------------------------------------------------------- Chunk

Chunk::Chunk(Device d, uint64_t nbytes) : dev(d), bytes(nbytes) {
  if (nbytes > 0) {
    block = storage::pool(d).alloc(nbytes);
    data = block.ptr;
  } else {
    plugin::registry().for_device(d);  // still reject a device no backend serves
  }
  var = engine::new_var();
}

Chunk::Chunk(Device d, void* borrowed, uint64_t nbytes, std::function<void()> on_release)
    : dev(d), data(borrowed), bytes(nbytes), release(std::move(on_release)) {
  var = engine::new_var();
}

Chunk::~Chunk() {
  // Memory goes back only after every op already pushed on it has run: at once when none is
  // pending (every tiny op's output), else through an engine op.
  if (!release && engine::process_engine().delete_var_if_idle(var)) {
    if (block.ptr) storage::pool(dev).free(block);
    return;
  }
  engine::process_engine().delete_var(var, [dev = dev, block = block, release = std::move(release)] {
    if (block.ptr) storage::pool(dev).free(block);
    if (release) release();
  });
}

// ---------------------------------------------------------------- NDArray

// Every array, fresh or a view, passes through one of these two constructors: the shape check
// here is what keeps every later size(), nbytes() and offset computation exact.
NDArray::NDArray(Shape shape, int32_t dtype, Device dev) : shape_(std::move(shape)), dtype_(dtype) {
  const uint64_t eb = dtype_info(dtype).bytes;  // validates the dtype
  if (!shape_ok(shape_, eb)) check_shape(shape_, "cannot create an array", eb);
  chunk_ = std::make_shared<Chunk>(dev, nbytes());
}

NDArray::NDArray(Shape shape, int32_t dtype, std::shared_ptr<Chunk> chunk, uint64_t byte_offset)
    : shape_(std::move(shape)), dtype_(dtype), offset_(byte_offset), chunk_(std::move(chunk)) {
  const uint64_t eb = dtype_info(dtype).bytes;
  if (!shape_ok(shape_, eb)) check_shape(shape_, "cannot create an array view", eb);
  // Callers check their ranges with messages of their own; this is the backstop against a view
  // that would reach past its storage.
  if (!chunk_ || byte_offset > chunk_->bytes || nbytes() > chunk_->bytes - byte_offset)
    fail(MX_ERR_INTERNAL, "array view ", shape_str(shape_), " ", dtype_info(dtype).name, " at byte ", byte_offset,
         " does not fit in its storage of ", chunk_ ? chunk_->bytes : 0, " bytes");
}

uint64_t NDArray::nbytes() const { return uint64_t(size()) * uint64_t(dtype_info(dtype_).bytes); }

DLTensor NDArray::dl_tensor() const {
  DLTensor t{};
  t.data = chunk_->data;
  t.byte_offset = offset_;
  t.device = DLDevice{static_cast<DLDeviceType>(chunk_->dev.type), chunk_->dev.id};
  t.ndim = int(shape_.size());
  t.dtype = dtype_info(dtype_).dl;
  t.shape = const_cast<int64_t*>(shape_.data());
  t.strides = nullptr;
  return t;
}

NDArray NDArray::slice(int64_t begin, int64_t end) const {
  if (shape_.empty()) fail(MX_ERR_INVALID_ARGUMENT, "slice: cannot slice a 0-d array");
  if (begin < 0 || end < begin || end > shape_[0])
    fail(MX_ERR_INVALID_ARGUMENT, "slice: range [", begin, ", ", end, ") is outside axis 0 of shape ",
         shape_str(shape_));
  Shape s = shape_;
  s[0] = end - begin;
  // Bytes per row from the (exact) total: 0 when another dim is 0, however large the rest.
  const uint64_t row_bytes = shape_[0] == 0 ? 0 : nbytes() / uint64_t(shape_[0]);
  return NDArray(s, dtype_, chunk_, offset_ + uint64_t(begin) * row_bytes);
}

NDArray NDArray::reshape(const Shape& target) const {
  if (target.size() > kMaxNdim) check_shape(target, "reshape");
  Shape s = target;
  int infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) fail(MX_ERR_INVALID_ARGUMENT, "reshape: more than one -1 in ", shape_str(target));
      infer = int(i);
    } else if (s[i] < 0) {
      fail(MX_ERR_INVALID_ARGUMENT, "reshape: negative dimension in ", shape_str(target));
    }
  }
  int64_t known = 0;  // counted exactly: a product that wraps around must never pass for size()
  if (!exact_product(s, &known, infer))
    fail(MX_ERR_SHAPE_MISMATCH, "reshape: shape ", shape_str(target), " has more than 2^63-1 elements but the array ",
         shape_str(shape_), " has ", size());
  if (infer >= 0) {
    if (known == 0 || size() % known != 0)
      fail(MX_ERR_SHAPE_MISMATCH, "reshape: cannot infer -1 in ", shape_str(target), " for an array of shape ",
           shape_str(shape_));
    s[size_t(infer)] = size() / known;
  } else if (known != size()) {
    fail(MX_ERR_SHAPE_MISMATCH, "reshape: shape ", shape_str(target), " has ", known, " elements but the array ",
         shape_str(shape_), " has ", size());
  }
  return NDArray(s, dtype_, chunk_, offset_);
}

void NDArray::wait_to_read() const { engine::get().wait_for_var(var(), false); }
void NDArray::wait_to_write() const { engine::get().wait_for_var(var(), true); }

namespace {

void host_transfer(const NDArray& arr, void* host, uint64_t nbytes, bool to_host) {
  if (nbytes != arr.nbytes())
    fail(MX_ERR_SHAPE_MISMATCH, to_host ? "copy_to_host" : "copy_from_host", ": buffer has ", nbytes,
         " bytes but the array ", shape_str(arr.shape()), " ", dtype_info(arr.dtype()).name, " has ", arr.nbytes());
  if (to_host) arr.wait_to_read();
  else if (arr.byte_offset() == 0 && nbytes == arr.chunk()->bytes)
    engine::get().wait_to_overwrite(arr.var());  // replaces every byte: clears a failure, as a write op would
  else arr.wait_to_write();                      // part of the storage: a failure elsewhere in it stays
  if (nbytes == 0) return;
  if (arr.device().is_cpu()) {
    if (to_host) std::memcpy(host, arr.data(), nbytes);
    else std::memcpy(arr.data(), host, nbytes);
    return;
  }
  const plugin::Backend& b = plugin::registry().for_device(arr.device());
  DLTensor dev = arr.dl_tensor();
  DLTensor cpu = dev;
  cpu.data = host;
  cpu.byte_offset = 0;
  cpu.device = DLDevice{kDLCPU, 0};
  plugin::check(b, to_host ? b.api.copy(&dev, &cpu, nullptr) : b.api.copy(&cpu, &dev, nullptr),
                to_host ? "copy device->host" : "copy host->device");
}

}  // namespace

void NDArray::copy_from_host(const void* src, uint64_t nbytes) const {
  host_transfer(*this, const_cast<void*>(src), nbytes, false);
}
void NDArray::copy_to_host(void* dst, uint64_t nbytes) const { host_transfer(*this, dst, nbytes, true); }

void copy(const NDArray& src, const NDArray& dst, int priority) {
  if (src.shape() != dst.shape() || src.dtype() != dst.dtype())
    fail(MX_ERR_SHAPE_MISMATCH, "copy: source ", shape_str(src.shape()), " ", dtype_info(src.dtype()).name,
         " and destination ", shape_str(dst.shape()), " ", dtype_info(dst.dtype()).name, " differ");
  if (src.var() == dst.var() && src.byte_offset() == dst.byte_offset()) return;  // same memory
  if (src.size() == 0) return;
  // The non-CPU side's backend can address both ends; its copy pool runs the transfer.
  const Device run_on = !dst.device().is_cpu() ? dst.device() : src.device();
  const plugin::Backend& b = plugin::registry().for_device(run_on);
  DLTensor s = src.dl_tensor(), d = dst.dl_tensor();
  // The arrays' shapes outlive the op only through the chunks; keep copies of them instead.
  auto shapes = std::make_shared<std::pair<Shape, Shape>>(src.shape(), dst.shape());
  engine::Var* reads[] = {src.var()};
  engine::Var* writes[] = {dst.var()};
  engine::PushOptions opts;
  opts.prop = engine::FnProperty::kCopy;
  opts.priority = priority;
  opts.name = "copy";
  // A host source is read by the host at call time (pageable memory, the staging ring), not in
  // stream order: its last write must be complete on the host, not just ordered on the stream
  // (it may be a device -> host copy finishing in a host callback).
  engine::Var* host_src = src.device().is_cpu() && !run_on.is_cpu() ? src.var() : nullptr;
  engine::get().push(
      [&b, s, d, shapes, host_src](engine::RunContext& ctx) mutable {
        s.shape = shapes->first.data();
        d.shape = shapes->second.data();
        if (host_src) engine::sync_host(host_src, false);
        plugin::check(b, b.api.copy(&s, &d, ctx.stream), "copy");
      },
      run_on, reads, writes, opts);
}

}  // namespace mx
