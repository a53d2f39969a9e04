// Zero-copy exchange with other frameworks through DLPack's legacy DLManagedTensor.
#pragma once

#include <dlpack/dlpack.h>

#include "ndarray/ndarray.h"

namespace mx {

// Waits for pending writes, then shares the memory; the tensor keeps it alive until its
// deleter is called.
DLManagedTensor* to_dlpack(const NDArray& arr);
// Takes ownership of t (its deleter runs once the last array over the memory is gone).
// Requires compact row-major memory on a device a backend serves.
NDArray from_dlpack(DLManagedTensor* t);

}  // namespace mx
