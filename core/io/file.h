// Whole-file reads for the iterators: plain or gzip-compressed (zlib detects which), with errors
// that name the file and the offset where it broke.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mx::io {

// The (decompressed) bytes of path; MX_ERR_NOT_FOUND if it cannot be opened, MX_ERR_IO naming the
// compressed and decompressed offsets if the gzip stream is corrupt or cut off.
std::vector<uint8_t> read_file(const std::string& path);

}  // namespace mx::io
