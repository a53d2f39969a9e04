#include "ndarray/dlpack.h"

#include <cstdint>

#include "base/dtype.h"
#include "base/error.h"
#include "engine/engine.h"
#include "plugin/registry.h"

namespace mx {
namespace {

struct Export {
  NDArray arr;  // holds the chunk
  Shape shape, strides;
  DLManagedTensor managed{};
};

// Where the tensor's memory lives in mx terms; throws for devices no backend serves.
Device device_of(const DLDevice& d) {
  Device dev;
  if (d.device_type == kDLCPU || d.device_type == kDLCUDAHost) dev = cpu();
  else if (d.device_type == kDLCUDA) dev = Device{MX_DEVICE_GPU, d.device_id};
  else fail(MX_ERR_UNSUPPORTED, "from_dlpack: device type ", int(d.device_type), " is not served by mx");
  plugin::registry().for_device(dev);
  return dev;
}

}  // namespace

namespace {

bool on_async_device(const NDArray& arr) {
  engine::DeviceStreams* ds = engine::device_streams();
  return !arr.device().is_cpu() && ds && ds->is_async(arr.device());
}

// A borrowed native stream, released on scope exit.
struct BorrowedStream {
  Device dev;
  void* s;
  BorrowedStream(Device d, int64_t native) : dev(d) {
    if (native == 0)
      fail(MX_ERR_INVALID_ARGUMENT, "dlpack: stream 0 is ambiguous for ", d.str(),
           " (DLPack: 1 is the legacy default stream, 2 the per-thread default, -1 no synchronisation)");
    if (native < -1) fail(MX_ERR_INVALID_ARGUMENT, "dlpack: stream ", native, " is not a stream");
    s = engine::device_streams()->stream_from_native(d, uint64_t(native));
  }
  ~BorrowedStream() { engine::device_streams()->stream_destroy(dev, s); }
};

DLManagedTensor* export_tensor(const NDArray& arr);

}  // namespace

DLManagedTensor* to_dlpack(const NDArray& arr) {
  arr.wait_to_read();
  return export_tensor(arr);
}

DLManagedTensor* to_dlpack(const NDArray& arr, int64_t consumer_stream) {
  if (!on_async_device(arr)) return to_dlpack(arr);
  if (consumer_stream == -1) {
    engine::get().wait_for_var_on_stream(arr.var(), arr.device(), nullptr);
  } else {
    BorrowedStream s(arr.device(), consumer_stream);
    engine::get().wait_for_var_on_stream(arr.var(), arr.device(), s.s);
  }
  return export_tensor(arr);
}

namespace {
DLManagedTensor* export_tensor(const NDArray& arr) {
  auto* e = new Export{arr, arr.shape(), arr.shape(), {}};
  // Row-major strides, given explicitly: DLPack 1.x consumers may require them. (Modulo 2^64: exact
  // for any array with elements; a zero-size one has none to address.)
  uint64_t stride = 1;
  for (size_t i = e->shape.size(); i-- > 0;) {
    e->strides[i] = int64_t(stride);
    stride *= uint64_t(e->shape[i]);
  }
  DLTensor& t = e->managed.dl_tensor;
  t = arr.dl_tensor();
  // A view's offset goes into the pointer, as PyTorch exports: some consumers (torch 1.13 among
  // them) ignore byte_offset and would read the view's storage from its start.
  t.data = arr.data();
  t.byte_offset = 0;
  t.shape = e->shape.data();
  t.strides = e->strides.data();
  e->managed.manager_ctx = e;
  e->managed.deleter = [](DLManagedTensor* self) { delete static_cast<Export*>(self->manager_ctx); };
  return &e->managed;
}
}  // namespace

// Everything a producer says is checked before any of it is trusted; on error the tensor is left
// to the caller (its deleter is not called), as DLPack's capsule protocol expects.
NDArray from_dlpack(DLManagedTensor* t) {
  if (!t) fail(MX_ERR_INVALID_ARGUMENT, "from_dlpack: NULL tensor");
  const DLTensor& d = t->dl_tensor;
  if (d.ndim < 0 || d.ndim > int32_t(kMaxNdim))
    fail(MX_ERR_INVALID_ARGUMENT, "from_dlpack: ndim ", d.ndim, " is out of range [0, ", kMaxNdim, "]");
  if (d.ndim > 0 && !d.shape) fail(MX_ERR_INVALID_ARGUMENT, "from_dlpack: shape is NULL for ndim ", d.ndim);
  if (d.dtype.lanes != 1)
    fail(MX_ERR_UNSUPPORTED, "from_dlpack: vector dtypes (lanes ", d.dtype.lanes, ") are not supported");
  const int32_t dtype = dtype_from_dl(d.dtype);
  const uint64_t elem = dtype_info(dtype).bytes;
  const Shape shape(d.shape, d.shape + d.ndim);
  const int64_t size = check_shape(shape, "from_dlpack", elem);
  const uint64_t nbytes = uint64_t(size) * elem;
  // A zero-size tensor has no element to read: its strides do not matter (torch gives (1, 1) for
  // (3, 0)), nor does its data pointer.
  if (size > 0 && d.strides) {
    int64_t expect = 1;
    for (int i = d.ndim - 1; i >= 0; --i) {
      if (shape[size_t(i)] != 1 && d.strides[i] != expect)
        fail(MX_ERR_UNSUPPORTED, "from_dlpack: only compact row-major tensors are supported; shape ",
             shape_str(shape), " has stride ", d.strides[i], " on axis ", i, " (expected ", expect, ")");
      expect *= shape[size_t(i)];
    }
  }
  if (size > 0 && !d.data)
    fail(MX_ERR_INVALID_ARGUMENT, "from_dlpack: data is NULL for shape ", shape_str(shape), " (", nbytes, " bytes)");
  // The memory [data + byte_offset, + nbytes) must be addressable: no wrap-around of the pointer.
  static_assert(sizeof(uintptr_t) == sizeof(uint64_t));
  const uintptr_t base = reinterpret_cast<uintptr_t>(d.data);
  uintptr_t first = 0, last = 0;
  if (__builtin_add_overflow(base, uintptr_t(d.byte_offset), &first) ||
      __builtin_add_overflow(first, uintptr_t(nbytes), &last))
    fail(MX_ERR_INVALID_ARGUMENT, "from_dlpack: byte_offset ", d.byte_offset, " plus ", nbytes,
         " bytes runs past the end of the address space");
  if (size > 0 && first % elem != 0)
    fail(MX_ERR_UNSUPPORTED, "from_dlpack: data + byte_offset is not aligned to its ", elem, "-byte elements");
  const Device dev = device_of(d.device);
  void* data = size > 0 ? reinterpret_cast<void*>(first) : nullptr;
  auto chunk = std::make_shared<Chunk>(dev, data, nbytes, [t] {
    if (t->deleter) t->deleter(t);
  });
  return NDArray(shape, dtype, chunk, 0);
}

NDArray from_dlpack(DLManagedTensor* t, int64_t producer_stream) {
  if (!t || producer_stream == -1) return from_dlpack(t);
  const Device dev = device_of(t->dl_tensor.device);
  engine::DeviceStreams* ds = engine::device_streams();
  if (dev.is_cpu() || !ds || !ds->is_async(dev)) return from_dlpack(t);
  // Everything that can fail happens before from_dlpack takes ownership of t.
  std::shared_ptr<void> ready;
  {
    BorrowedStream s(dev, producer_stream);
    ready = engine::record_foreign_write(dev, s.s);
  }
  NDArray arr = from_dlpack(t);
  engine::adopt_foreign_write(arr.var(), ready);
  return arr;
}

}  // namespace mx
