// Finding and loading the image part (libmx_image.so, image_api.h): libmx links no OpenCV; the part
// is opened the first time an image iterator is created, found like the KVStore's transport.
#pragma once

#include <string>
#include <vector>

#include "io/image/image_api.h"

namespace mx::io {

inline constexpr const char* kImagePartFile = "libmx_image.so";
inline constexpr const char* kImagePartEnv = "MX_IMAGE_PLUGIN";

// Where the part is looked for: the file MX_IMAGE_PLUGIN names if set, else libmx_image.so next to
// libmx.so, else in the build directory.
std::vector<std::string> image_part_candidates();

// Opens the first of candidates that loads and fills a compatible table (ABI major, every slot this
// libmx calls). Throws mx::Error MX_ERR_NOT_FOUND saying image decoding needs libmx_image.so
// (OpenCV) and naming every file tried and why it failed. Nothing is cached.
mx_image_api load_image_part(const std::vector<std::string>& candidates, std::string* loaded_from = nullptr);

// The process's image part: loaded from image_part_candidates() on the first call, then kept (the
// library stays mapped until exit). A failed load is not remembered: the next call tries again.
const mx_image_api& image_part();

}  // namespace mx::io
