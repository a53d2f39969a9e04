// KVStore: MXNet's parameter synchronisation. Values are pushed under keys, merged (summed), handed
// to an updater with the stored value, and pulled back. Types:
//   local, device         several devices of one process (local merges on cpu(0), device on the
//                         first value's device); the updater runs once per key.
//   dist_sync             every worker's push of a step is summed across the workers (allreduce
//                         over the MPI transport) before the update; every worker holds the weights.
//   dist_async            server processes hold the weights and apply the optimizer to each push as
//                         it arrives; pulls return the newest weights.
//   nccl                  GPU arrays of one process summed with NCCL (plugin libmx_kvstore_nccl.so,
//                         built with the CUDA backend; run only where a GPU is lent so far).
//   dist_device_sync      NCCL across processes: not built yet (a clear error).
//
// Keys are strings; a store's keys are either all integers (written in decimal: "3") or all other
// strings, as in MXNet. Push and pull are engine ops on the arrays' vars with a priority, so
// communication overlaps compute; a push reads its values only after their producers finished.
// Errors: an unknown type, a key pushed before init, a shape or dtype that differs from init or
// between workers raise mx::Error naming the key and both shapes; a lost peer fails the pending
// ops (their arrays' waits throw) naming the lost rank.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kvstore/optimizer.h"
#include "ndarray/ndarray.h"

namespace mx::kv {

// updater(key, received, stored): folds the merged value received for key into the stored one,
// usually by pushing ops that write stored. Called on the thread that pushed.
using Updater = std::function<void(const std::string& key, const NDArray& recv, const NDArray& stored)>;

struct KeyGroup {
  std::string key;
  std::vector<NDArray> arrays;  // the values pushed (or the outputs pulled) under key, in call order
};
// Groups arrays by key, keys in order of first appearance (MXNet merges a repeated key's values).
std::vector<KeyGroup> group_by_key(std::span<const std::string> keys, std::span<const NDArray> arrays,
                                   const char* fn);

class KVStore {
 public:
  // Throws MX_ERR_INVALID_ARGUMENT for an unknown type and MX_ERR_NOT_FOUND / MX_ERR_UNSUPPORTED
  // when the type's transport is missing (no MPI plugin, no NCCL), naming what is missing.
  static std::unique_ptr<KVStore> create(const std::string& type);
  virtual ~KVStore() = default;

  const std::string& type() const { return type_; }
  virtual int rank() const { return 0; }
  virtual int num_workers() const { return 1; }
  // Returns once every worker reached it (and everything pushed before it here has run).
  virtual void barrier() {}

  // One value per key (a key may not repeat); a key is initialised once.
  void init(std::span<const std::string> keys, std::span<const NDArray> values);
  // Values of a repeated key are summed before the update.
  void push(std::span<const std::string> keys, std::span<const NDArray> values, int priority);
  // A repeated key fills several outputs.
  void pull(std::span<const std::string> keys, std::span<const NDArray> outs, int priority);
  void pushpull(std::span<const std::string> vkeys, std::span<const NDArray> values,
                std::span<const std::string> okeys, std::span<const NDArray> outs, int priority);
  // init, then pull.
  void broadcast(std::span<const std::string> vkeys, std::span<const NDArray> values,
                 std::span<const std::string> okeys, std::span<const NDArray> outs, int priority);

  virtual void set_updater(Updater u);
  // A store-side optimizer (optimizer.h); for dist_async it runs on the servers.
  virtual void set_optimizer(const std::string& name, const OptimizerParams& params);
  // type "2bit" with threshold > 0 (MXNet's scheme), or "none".
  virtual void set_gradient_compression(const std::string& type, double threshold);
  virtual void save_optimizer_states(const std::string& path);
  virtual void load_optimizer_states(const std::string& path);

 protected:
  struct KeyInfo {
    Shape shape;
    int32_t dtype = 0;
  };
  explicit KVStore(std::string type) : type_(std::move(type)) {}

  virtual void init_key(const std::string& key, const NDArray& value) = 0;
  virtual void push_key(const std::string& key, std::span<const NDArray> values, int priority) = 0;
  virtual void pull_key(const std::string& key, std::span<const NDArray> outs, int priority) = 0;
  // push_key then pull_key; a store may do both at once (dist_sync reduces straight into the output).
  virtual void pushpull_key(const std::string& key, std::span<const NDArray> values, std::span<const NDArray> outs,
                            int priority) {
    push_key(key, values, priority);
    pull_key(key, outs, priority);
  }

  // Folds merged into stored: the updater, else the optimizer, else stored = merged.
  void apply_update(const std::string& key, const NDArray& merged, const NDArray& stored, int priority);
  // Throws unless key was initialised and every array matches its shape and dtype.
  const KeyInfo& check_arrays(const std::string& key, std::span<const NDArray> arrays, const char* fn) const;

  std::string type_;
  std::unordered_map<std::string, KeyInfo> keys_;
  Updater updater_;
  std::unique_ptr<Optimizer> optimizer_;
  float compression_threshold_ = 0;  // > 0: 2bit compression on

 private:
  void check_key_kind(const std::string& key);
  int key_kind_ = 0;  // 0 none yet, 1 integers, 2 strings
};

}  // namespace mx::kv
