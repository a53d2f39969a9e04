#include "base/shape.h"

#include <cctype>
#include <cstdlib>

#include "base/error.h"

namespace mx {

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
    long long v = std::strtoll(text.c_str() + i, &end, 10);
    if (end == text.c_str() + i) fail(MX_ERR_INVALID_ARGUMENT, what, ": cannot parse shape '", text, "'");
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
