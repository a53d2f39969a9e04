// A vector of trivially copyable T that keeps up to N items inline (heap beyond), for the small
// lists on the per-op path (shapes, dependency lists) that must not allocate.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <type_traits>

namespace mx {

template <typename T, size_t N>
class SmallVec {
 public:
  static constexpr size_t kInline = N;

  SmallVec() = default;
  SmallVec(std::initializer_list<T> items) { assign(items.begin(), items.end()); }
  SmallVec(const T* first, const T* last) { assign(first, last); }
  SmallVec(const SmallVec& o) { assign(o.begin(), o.end()); }
  SmallVec(SmallVec&& o) noexcept { steal(o); }
  SmallVec& operator=(const SmallVec& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  SmallVec& operator=(SmallVec&& o) noexcept {
    if (this != &o) {
      release();
      steal(o);
    }
    return *this;
  }
  ~SmallVec() { release(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T* data() const { return ptr(); }
  T* data() { return ptr(); }
  const T* begin() const { return ptr(); }
  const T* end() const { return ptr() + size_; }
  T* begin() { return ptr(); }
  T* end() { return ptr() + size_; }
  T operator[](size_t i) const { return ptr()[i]; }
  T& operator[](size_t i) { return ptr()[i]; }
  T front() const { return ptr()[0]; }
  T back() const { return ptr()[size_ - 1]; }

  void clear() { size_ = 0; }
  void push_back(T d) {
    reserve(size_ + 1);
    ptr()[size_++] = d;
  }
  // Appends [first, last) (at the end only, which is all the shape code needs).
  void append(const T* first, const T* last) {
    const size_t n = size_t(last - first);
    reserve(size_ + n);
    std::copy(first, last, ptr() + size_);
    size_ += n;
  }

  bool operator==(const SmallVec& o) const { return size_ == o.size_ && std::equal(begin(), end(), o.begin()); }
  bool operator!=(const SmallVec& o) const { return !(*this == o); }

 private:
  T* ptr() { return heap_ ? heap_ : inline_; }
  const T* ptr() const { return heap_ ? heap_ : inline_; }
  void reserve(size_t n) {
    if (n <= capacity()) return;
    size_t cap = std::max(n, 2 * capacity());
    auto* p = new T[cap];
    std::copy(begin(), end(), p);
    delete[] heap_;
    heap_ = p;
    heap_cap_ = cap;
  }
  size_t capacity() const { return heap_ ? heap_cap_ : kInline; }
  void assign(const T* first, const T* last) {
    size_ = 0;
    append(first, last);
  }
  void release() {
    delete[] heap_;
    heap_ = nullptr;
    size_ = 0;
  }
  void steal(SmallVec& o) {
    size_ = o.size_;
    if (o.heap_) {
      heap_ = o.heap_;
      heap_cap_ = o.heap_cap_;
      o.heap_ = nullptr;
    } else {
      std::memcpy(inline_, o.inline_, sizeof(inline_));
    }
    o.size_ = 0;
  }

  static_assert(std::is_trivially_copyable_v<T>);
  size_t size_ = 0;
  T* heap_ = nullptr;
  size_t heap_cap_ = 0;
  T inline_[kInline] = {};
};

}  // namespace mx
