// What the opaque C handles point to.
#pragma once

#include "c_api/border.h"
#include "ndarray/ndarray.h"

struct mx_ndarray {
  mx::NDArray arr;
};

#include <memory>
#include <string>

#include "io/iter.h"
#include "io/recordio.h"

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

#include "symbol/symbol.h"

struct mx_symbol {
  mx::sym::Symbol s;
};

namespace mx::capi {
// The symbol behind a handle, failing with the function's name if the handle is NULL.
inline const mx::sym::Symbol& sym_of(mx_symbol_t h, const char* fn) {
  need(h, fn, "symbol handle");
  return h->s;
}
}  // namespace mx::capi

#include "executor/cached_op.h"
#include "executor/executor.h"

struct mx_executor {
  std::unique_ptr<mx::exec::Executor> ex;
};

struct mx_cached_op {
  std::unique_ptr<mx::exec::CachedOp> op;
};
