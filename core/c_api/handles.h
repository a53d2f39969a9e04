// What the opaque C handles stand for, and the only ways to make, use and free one: issue(),
// deref() and release() go through the handle table (c_api/handle_table.h), so a freed, foreign
// or wrong-kind handle is an MX_ERR_INVALID_HANDLE error, never a dereference.
#pragma once

#include <memory>
#include <string>

#include "c_api/border.h"
#include "c_api/handle_table.h"
#include "executor/cached_op.h"
#include "executor/executor.h"
#include "io/iter.h"
#include "io/recordio.h"
#include "kvstore/kvstore.h"
#include "ndarray/ndarray.h"
#include "symbol/symbol.h"

struct mx_ndarray {
  mx::NDArray arr;
};

struct mx_dataiter {
  std::unique_ptr<mx::io::DataIter> it;
};

struct mx_recordio_writer {
  mx::io::RecordWriter w;
};

struct mx_recordio_reader {
  mx::io::RecordReader r;
  std::string record;  // the last record read (valid until the next call)
};

struct mx_symbol {
  mx::sym::Symbol s;
};

struct mx_executor {
  std::unique_ptr<mx::exec::Executor> ex;
};

struct mx_cached_op {
  std::unique_ptr<mx::exec::CachedOp> op;
};

struct mx_kvstore {
  std::unique_ptr<mx::kv::KVStore> kv;
};

namespace mx::capi {

template <typename T>
struct KindOf;
template <> struct KindOf<mx_ndarray> { static constexpr Kind value = Kind::kNDArray; };
template <> struct KindOf<mx_symbol> { static constexpr Kind value = Kind::kSymbol; };
template <> struct KindOf<mx_executor> { static constexpr Kind value = Kind::kExecutor; };
template <> struct KindOf<mx_cached_op> { static constexpr Kind value = Kind::kCachedOp; };
template <> struct KindOf<mx_dataiter> { static constexpr Kind value = Kind::kDataIter; };
template <> struct KindOf<mx_recordio_writer> { static constexpr Kind value = Kind::kRecordWriter; };
template <> struct KindOf<mx_recordio_reader> { static constexpr Kind value = Kind::kRecordReader; };
template <> struct KindOf<mx_kvstore> { static constexpr Kind value = Kind::kKVStore; };

// A new handle owning obj.
template <typename T>
T* issue(std::unique_ptr<T> obj) {
  T* h = reinterpret_cast<T*>(handle_add(KindOf<T>::value, obj.get()));
  obj.release();
  return h;
}
template <typename T>
T* issue(T&& value) {
  return issue(std::make_unique<T>(std::move(value)));
}

// The object behind a live handle; fn names the calling API function in errors.
template <typename T>
T& deref(T* h, const char* fn) {
  return *static_cast<T*>(handle_get(reinterpret_cast<uintptr_t>(h), KindOf<T>::value, fn));
}

// Frees a handle and its object; NULL is a no-op (every mx_*_free accepts NULL).
template <typename T>
void release(T* h, const char* fn) {
  if (!h) return;
  delete static_cast<T*>(handle_remove(reinterpret_cast<uintptr_t>(h), KindOf<T>::value, fn));
}

// The array behind the i-th handle of a list argument; errors name the entry ("input 2").
[[noreturn]] void bad_array_at(mx_ndarray_t h, const char* fn, const char* what, size_t i);
inline mx::NDArray& arr_at(mx_ndarray_t h, const char* fn, const char* what, size_t i) {
  if (void* obj = handle_find(reinterpret_cast<uintptr_t>(h), Kind::kNDArray)) [[likely]]
    return static_cast<mx_ndarray*>(obj)->arr;
  bad_array_at(h, fn, what, i);
}

// The symbol behind a handle.
inline const mx::sym::Symbol& sym_of(mx_symbol_t h, const char* fn) { return deref(h, fn).s; }
inline const mx::NDArray& arr_of(mx_ndarray_t h, const char* fn) { return deref(h, fn).arr; }
// A new handle to the caller for a.
inline mx_ndarray_t wrap(mx::NDArray a) { return issue(mx_ndarray{std::move(a)}); }

}  // namespace mx::capi
