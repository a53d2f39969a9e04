// Built-in op definitions, one function per family; op/registry.cc calls them in order.
#pragma once

#include "op/schema.h"

namespace mx::op {

void register_elemwise(Registry& r);  // elemwise_* and *_scalar arithmetic, _copy
void register_init(Registry& r);      // _zeros, _ones, _full
void register_random(Registry& r);    // _random_uniform, _random_normal
void register_dot(Registry& r);       // dot

// dtypes of arithmetic ops (bool has no arithmetic).
const std::vector<int32_t>& numeric_dtypes();

}  // namespace mx::op
