#include "base/partial_shape.h"

#include "base/error.h"

namespace mx {

Shape zeros_unknown(Shape s) {
  for (int64_t& d : s)
    if (d == 0) d = kUnknownDim;
  return s;
}

Shape unknown_zeros(Shape s) {
  for (int64_t& d : s)
    if (d == kUnknownDim) d = 0;
  return s;
}

Shape known_dims(Shape s) {
  for (int64_t& d : s)
    if (d == kUnknownDim) d = 1;
  return s;
}

std::string partial_str(const PartialShape& s) { return s ? shape_str(unknown_zeros(*s)) : "unknown"; }

Merge merge(PartialShape& into, const PartialShape& from) {
  if (!from) return Merge::kSame;
  if (!into) {
    into = from;
    return Merge::kChanged;
  }
  if (into->size() != from->size()) return Merge::kConflict;
  Shape m = *into;
  bool changed = false;
  for (size_t i = 0; i < m.size(); ++i) {
    const int64_t f = (*from)[i];
    if (f == kUnknownDim || f == m[i]) continue;
    if (m[i] != kUnknownDim) return Merge::kConflict;
    m[i] = f;
    changed = true;
  }
  if (changed) *into = std::move(m);
  return changed ? Merge::kChanged : Merge::kSame;
}

bool unify(PartialShape& into, const PartialShape& from, const std::string& op, const std::string& from_what,
           const std::string& into_what) {
  const Merge m = merge(into, from);
  if (m == Merge::kConflict)
    fail(MX_ERR_SHAPE_MISMATCH, op, ": ", from_what, " is ", partial_str(from), " but ", into_what, " is ",
         partial_str(into));
  return m == Merge::kChanged;
}

}  // namespace mx
