// Zero-copy exchange with other frameworks through DLPack's legacy DLManagedTensor.
#pragma once

#include <dlpack/dlpack.h>

#include "ndarray/ndarray.h"

namespace mx {

// Waits for pending writes, then shares the memory; the tensor keeps it alive until its
// deleter is called. A view is exported with data at its first element and byte_offset 0 (as
// PyTorch does: some consumers ignore byte_offset), with explicit row-major strides.
DLManagedTensor* to_dlpack(const NDArray& arr);
// DLPack's stream protocol (see mx_ndarray_to_dlpack_stream): on an async device the consumer's
// stream waits for pending writes instead of the host; -1: no ordering. Other devices: to_dlpack.
DLManagedTensor* to_dlpack(const NDArray& arr, int64_t consumer_stream);
// On success takes ownership of t (its deleter runs once the last array over the memory is gone).
// Validates everything the producer claims first: ndim <= kMaxNdim, shape and byte count within
// int64, a known dtype with lanes 1, data non-NULL when there are elements, data + byte_offset
// aligned and not wrapping the address space, compact row-major strides (any strides for a
// zero-size tensor), a device a backend serves. On error t is left untouched, still the caller's.
NDArray from_dlpack(DLManagedTensor* t);
// from_dlpack for data made ready on `producer_stream` of its (async) device: mx's ops on the
// result wait for that point of the stream. Other devices: from_dlpack.
NDArray from_dlpack(DLManagedTensor* t, int64_t producer_stream);

}  // namespace mx
