// NDArray: a shape and dtype over a shared storage chunk. Views (slices along axis 0, reshapes)
// share the chunk and its engine var, so every op on any view is ordered with every other.
// Storage returns to the pool through the engine, after the last pending op on it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <dlpack/dlpack.h>

#include "base/device.h"
#include "base/shape.h"
#include "engine/engine.h"
#include "storage/storage.h"

namespace mx {

namespace autograd {
struct Node;
}

// Where an array sits on the autograd tape: output `index` of `node` (none if node is null).
struct AGEntry {
  std::shared_ptr<autograd::Node> node;
  uint32_t index = 0;
};

struct Chunk {
  Device dev;
  void* data = nullptr;
  uint64_t bytes = 0;
  storage::Block block;               // set when the pool owns the memory
  std::function<void()> release;      // set when the memory is borrowed (DLPack import)
  engine::Var* var = nullptr;

  Chunk(Device d, uint64_t nbytes);   // pool memory
  Chunk(Device d, void* borrowed, uint64_t nbytes, std::function<void()> on_release);
  ~Chunk();
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;
};

class NDArray {
 public:
  NDArray() = default;
  // Uninitialised array on dev (allocates from the device's pool).
  NDArray(Shape shape, int32_t dtype, Device dev);
  NDArray(Shape shape, int32_t dtype, std::shared_ptr<Chunk> chunk, uint64_t byte_offset);

  bool defined() const { return chunk_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int32_t dtype() const { return dtype_; }
  Device device() const { return chunk_->dev; }
  int64_t size() const { return shape_size(shape_); }
  uint64_t nbytes() const;
  void* data() const { return chunk_->data ? static_cast<char*>(chunk_->data) + offset_ : nullptr; }
  engine::Var* var() const { return chunk_->var; }
  const std::shared_ptr<Chunk>& chunk() const { return chunk_; }
  uint64_t byte_offset() const { return offset_; }

  const AGEntry& ag_entry() const { return ag_; }
  void set_ag_entry(AGEntry e) { ag_ = std::move(e); }

  // A DLTensor over this array; shape points into the array (valid while it lives).
  DLTensor dl_tensor() const;

  // Rows [begin, end) along axis 0, sharing storage.
  NDArray slice(int64_t begin, int64_t end) const;
  // Same elements in another shape (one dim may be -1), sharing storage.
  NDArray reshape(const Shape& shape) const;

  void wait_to_read() const;
  void wait_to_write() const;
  // Synchronous host transfers; nbytes must equal this->nbytes().
  void copy_from_host(const void* src, uint64_t nbytes) const;
  void copy_to_host(void* dst, uint64_t nbytes) const;

 private:
  Shape shape_;
  int32_t dtype_ = 0;
  uint64_t offset_ = 0;
  std::shared_ptr<Chunk> chunk_;
  AGEntry ag_;
};

// Asynchronous copy between arrays of equal shape and dtype on any devices; priority orders it
// among ready copies (the KVStore pulls with MXNet's priority = -index).
void copy(const NDArray& src, const NDArray& dst, int priority = 0);

}  // namespace mx
