#include "base/shape.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "base/error.h"

namespace mx {

int64_t check_shape(const Shape& s, std::string_view what, uint64_t elem_bytes) {
  if (s.size() > kMaxNdim)
    fail(MX_ERR_INVALID_ARGUMENT, what, ": shape ", shape_str(s), " has ", s.size(), " dimensions; at most ", kMaxNdim,
         " are supported");
  for (int64_t d : s)
    if (d < 0) fail(MX_ERR_INVALID_ARGUMENT, what, ": shape ", shape_str(s), " has a negative dimension");
  int64_t n = 0;
  if (!exact_product(s, &n))
    fail(MX_ERR_INVALID_ARGUMENT, what, ": shape ", shape_str(s), " has more than 2^63-1 elements");
  int64_t bytes = 0;
  if (elem_bytes && !mul_size(n, int64_t(elem_bytes), &bytes))
    fail(MX_ERR_INVALID_ARGUMENT, what, ": shape ", shape_str(s), " of ", elem_bytes,
         "-byte elements needs more than 2^63-1 bytes");
  return n;
}

void size_overflow(std::string_view what, int64_t a, char op, int64_t b) {
  fail(MX_ERR_INVALID_ARGUMENT, what, ": size ", a, " ", op, " ", b, " overflows int64");
}

int64_t dims_product(const Shape& s, size_t first, size_t last, std::string_view what) {
  int64_t n = 1;
  bool over = false;
  for (size_t i = first; i < last; ++i) {
    if (s[i] == 0) return 0;
    over |= !mul_size(n, s[i], &n);
  }
  if (over)
    fail(MX_ERR_INVALID_ARGUMENT, what, ": the product of dims ", first, "..", last - 1, " of ", shape_str(s),
         " overflows int64");
  return n;
}

bool shape_ok_exact(const Shape& s, uint64_t elem_bytes) {
  for (int64_t d : s)
    if (d < 0) return false;
  int64_t n = 0, bytes = 0;
  return exact_product(s, &n) && mul_size(n, int64_t(elem_bytes), &bytes);
}

std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(s[i]);
  }
  return out + ")";
}

Shape parse_shape(const std::string& text, const std::string& what) {
  Shape out;
  size_t i = 0, n = text.size();
  auto skip = [&] { while (i < n && std::isspace(static_cast<unsigned char>(text[i]))) ++i; };
  skip();
  bool bracketed = i < n && (text[i] == '(' || text[i] == '[');
  char close = bracketed ? (text[i] == '(' ? ')' : ']') : '\0';
  if (bracketed) ++i;
  for (;;) {
    skip();
    if (i == n || text[i] == close) break;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text.c_str() + i, &end, 10);
    if (end == text.c_str() + i) fail(MX_ERR_INVALID_ARGUMENT, what, ": cannot parse shape '", text, "'");
    if (errno == ERANGE)  // strtoll saturates: never let 99999999999999999999 pass as 2^63-1
      fail(MX_ERR_INVALID_ARGUMENT, what, ": shape '", text, "' has an entry outside the range of a 64-bit integer");
    out.push_back(v);
    i = size_t(end - text.c_str());
    skip();
    if (i < n && text[i] == ',') ++i;
  }
  if (bracketed && (i == n || text[i] != close))
    fail(MX_ERR_INVALID_ARGUMENT, what, ": unterminated shape '", text, "'");
  if (bracketed) ++i;
  skip();
  if (i != n) fail(MX_ERR_INVALID_ARGUMENT, what, ": trailing characters in shape '", text, "'");
  return out;
}

}  // namespace mx
