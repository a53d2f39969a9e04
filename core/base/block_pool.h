// Recycling of fixed-size blocks for objects made on one thread and freed on another (engine op
// records, launch records). With plain malloc every such free takes the allocating thread's
// arena lock, which at a million ops a second dominates the engine. Here each thread keeps a
// cache and trades whole batches with a shared list, so the shared lock is taken once per
// kBatch blocks. Blocks are kept for reuse, never returned to the system.
#pragma once

#include <cstddef>
#include <mutex>
#include <new>
#include <vector>

namespace mx {

template <size_t Size>
class BlockPool {
 public:
  static void* alloc() {
    Local& l = local();
    if (!l.head) refill(l);
    if (!l.head) return ::operator new(kBlock);
    Node* n = l.head;
    l.head = n->next;
    --l.count;
    return n;
  }

  static void free(void* p) {
    Local& l = local();
    auto* n = static_cast<Node*>(p);
    n->next = l.head;
    l.head = n;
    if (++l.count >= 2 * kBatch) spill(l, kBatch);
  }

 private:
  static constexpr size_t kBatch = 64;
  struct Node {
    Node* next;
  };
  static constexpr size_t kBlock = Size < sizeof(Node) ? sizeof(Node) : Size;

  struct Shared {
    std::mutex mu;
    std::vector<Node*> batches;  // each a list of kBatch nodes
  };
  static Shared& shared() {
    static auto* s = new Shared();  // outlives every thread's cache
    return *s;
  }

  struct Local {
    Node* head = nullptr;
    size_t count = 0;
    ~Local() {
      while (count >= kBatch) spill(*this, kBatch);
      if (count) spill(*this, count);
    }
  };
  static Local& local() {
    thread_local Local l;
    return l;
  }

  static void spill(Local& l, size_t n) {
    Node* first = l.head;
    Node* last = first;
    for (size_t i = 1; i < n; ++i) last = last->next;
    l.head = last->next;
    last->next = nullptr;
    l.count -= n;
    Shared& s = shared();
    std::lock_guard<std::mutex> lk(s.mu);
    s.batches.push_back(first);
  }

  static void refill(Local& l) {
    Shared& s = shared();
    std::lock_guard<std::mutex> lk(s.mu);
    if (s.batches.empty()) return;
    Node* list = s.batches.back();
    s.batches.pop_back();
    size_t n = 0;
    for (Node* p = list; p; p = p->next) ++n;
    l.head = list;
    l.count = n;
  }
};

// std allocator over BlockPool, for std::allocate_shared of records crossing threads.
template <typename T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) {}
  T* allocate(size_t n) {
    if (n == 1) return static_cast<T*>(BlockPool<sizeof(T)>::alloc());
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) {
    if (n == 1) BlockPool<sizeof(T)>::free(p);
    else ::operator delete(p);
  }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const { return true; }
};

}  // namespace mx
