// The store types behind KVStore::create (internal to core/kvstore).
#pragma once

#include <memory>
#include <string>

#include "kvstore/kvstore.h"

namespace mx::kv {

// "local" (merges on cpu(0)) and "device" (merges on the first value's device).
std::unique_ptr<KVStore> make_local_store(const std::string& type);
// "dist_sync" and "dist_async" over the MPI transport (dist.cc).
std::unique_ptr<KVStore> make_dist_store(const std::string& type);
// "nccl": GPU arrays of this process reduced over NCCL (nccl_store.cc); throws MX_ERR_NOT_FOUND when
// the plugin libmx_kvstore_nccl.so cannot be loaded.
std::unique_ptr<KVStore> make_nccl_store();

// Sums values into merged (float32, host arrays) after 2bit compression of each with its residual:
// the merge of a compressed push. One engine op on the host.
void push_compressed_merge(const std::vector<NDArray>& values, const std::vector<NDArray>& residuals,
                           const NDArray& merged, float threshold, int priority);

}  // namespace mx::kv
