// What the opaque C handles point to.
#pragma once

#include "ndarray/ndarray.h"

struct mx_ndarray {
  mx::NDArray arr;
};
