#include "ndarray/dlpack.h"

#include "base/dtype.h"
#include "base/error.h"
#include "plugin/registry.h"

namespace mx {
namespace {

struct Export {
  NDArray arr;  // holds the chunk
  Shape shape;
  DLManagedTensor managed{};
};

}  // namespace

DLManagedTensor* to_dlpack(const NDArray& arr) {
  arr.wait_to_read();
  auto* e = new Export{arr, arr.shape(), {}};
  e->managed.dl_tensor = arr.dl_tensor();
  e->managed.dl_tensor.shape = e->shape.data();
  e->managed.manager_ctx = e;
  e->managed.deleter = [](DLManagedTensor* self) { delete static_cast<Export*>(self->manager_ctx); };
  return &e->managed;
}

NDArray from_dlpack(DLManagedTensor* t) {
  if (!t) fail(MX_ERR_INVALID_ARGUMENT, "from_dlpack: NULL tensor");
  const DLTensor& d = t->dl_tensor;
  const int32_t dtype = dtype_from_dl(d.dtype);
  if (d.ndim < 0 || (d.ndim > 0 && !d.shape)) fail(MX_ERR_INVALID_ARGUMENT, "from_dlpack: bad ndim/shape");
  Shape shape(d.shape, d.shape + d.ndim);
  for (int64_t s : shape)
    if (s < 0) fail(MX_ERR_INVALID_ARGUMENT, "from_dlpack: negative dimension in ", shape_str(shape));
  if (d.strides) {
    int64_t expect = 1;
    for (int i = d.ndim - 1; i >= 0; --i) {
      if (shape[size_t(i)] != 1 && d.strides[i] != expect)
        fail(MX_ERR_UNSUPPORTED, "from_dlpack: only compact row-major tensors are supported; shape ",
             shape_str(shape), " has stride ", d.strides[i], " on axis ", i, " (expected ", expect, ")");
      expect *= shape[size_t(i)];
    }
  }
  Device dev;
  if (d.device.device_type == kDLCPU || d.device.device_type == kDLCUDAHost) dev = cpu();
  else if (d.device.device_type == kDLCUDA) dev = Device{MX_DEVICE_GPU, d.device.device_id};
  else fail(MX_ERR_UNSUPPORTED, "from_dlpack: device type ", int(d.device.device_type), " is not served by mx");
  plugin::registry().for_device(dev);
  const uint64_t nbytes = uint64_t(shape_size(shape)) * uint64_t(dtype_info(dtype).bytes);
  void* data = static_cast<char*>(d.data) + d.byte_offset;
  auto chunk = std::make_shared<Chunk>(dev, data, nbytes, [t] {
    if (t->deleter) t->deleter(t);
  });
  return NDArray(shape, dtype, chunk, 0);
}

}  // namespace mx
