// Factories of the two engines (engine.cc picks one).
#pragma once

#include <memory>

#include "engine/engine.h"

namespace mx::engine {

std::unique_ptr<Engine> make_threaded_engine(int cpu_threads);
std::unique_ptr<Engine> make_naive_engine();

}  // namespace mx::engine
