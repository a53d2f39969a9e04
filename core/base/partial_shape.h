// Partially known shapes, as symbolic inference sees them (MXNet 1.x's infer_shape_partial):
// std::nullopt knows nothing, not even the number of dims; a Shape may hold kUnknownDim for each
// dim not known yet. Users write an unknown dim as 0 (MXNet's convention); the borders that take
// shapes for inference (the C API's infer_shape and simple_bind, __shape__ attributes) turn those
// 0s into kUnknownDim and back, so that inside the core -1 never mixes with a real zero-size dim.
#pragma once

#include <optional>
#include <string>

#include "base/shape.h"

namespace mx {

inline constexpr int64_t kUnknownDim = -1;
using PartialShape = std::optional<Shape>;

// Every dim known.
inline bool is_complete(const Shape& s) {
  for (int64_t d : s)
    if (d == kUnknownDim) return false;
  return true;
}
inline bool is_complete(const PartialShape& s) { return s && is_complete(*s); }

// A shape given by a user: each 0 dim becomes kUnknownDim.
Shape zeros_unknown(Shape s);
// For a user again: each kUnknownDim becomes 0.
Shape unknown_zeros(Shape s);
// The shape with each unknown dim taken as 1: what size checks (check_shape, shape_ok) see, so
// that the known dims of a partial shape are checked as early as complete ones.
Shape known_dims(Shape s);
// "(0,5)" as MXNet prints a partial shape (0 for an unknown dim); "unknown" for std::nullopt.
std::string partial_str(const PartialShape& s);

// Unifies `from` into `into` (MXNet's shape_assign): an unknown ndim or dim takes the other's;
// two known dims must be equal. On a conflict `into` is left as it was.
enum class Merge { kSame, kChanged, kConflict };
Merge merge(PartialShape& into, const PartialShape& from);

// merge() for op rules: a conflict throws MX_ERR_SHAPE_MISMATCH "<op>: <from_what> is <from> but
// <into_what> is <into>". Returns whether `into` changed.
bool unify(PartialShape& into, const PartialShape& from, const std::string& op, const std::string& from_what,
           const std::string& into_what);

}  // namespace mx
