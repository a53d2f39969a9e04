// libFuzzer target: the symbol JSON loader. Any document either loads (and then saves and reloads
// to the same JSON) or fails with mx::Error naming what is wrong: never a crash or a hang.
#include <cstdint>
#include <string>

#include "base/error.h"
#include "symbol/symbol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const mx::sym::Symbol s = mx::sym::Symbol::from_json(text);
    s.list_arguments();
    s.list_outputs();
    s.list_auxiliary_states();
    const std::string saved = s.to_json();
    if (mx::sym::Symbol::from_json(saved).to_json() != saved) __builtin_trap();  // lossless
  } catch (const mx::Error&) {
  }
  return 0;
}
