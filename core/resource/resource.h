// Resources a kernel asks the host for: scratch memory and random numbers.
//
// Temp space belongs to a worker (grow-only, reused by every op that worker runs), so ops never
// allocate scratch per call. Random numbers come from Philox 4x32-10 keyed by a per-device seed;
// each random op reserves a range of counter blocks at push time, on the pushing thread and in
// program order, so the numbers an op draws do not depend on which worker runs it or when.
#pragma once

#include <cstdint>

#include "base/device.h"
#include "engine/engine.h"

namespace mx::resource {

// Scratch of at least `bytes` for the op running in ctx; valid until that op returns.
void* temp_space(engine::RunContext& ctx, uint64_t bytes);
// Current capacity of ctx's worker temp space (0 before first use).
uint64_t temp_space_capacity(engine::RunContext& ctx);

struct RngDraw {
  uint64_t seed = 0;
  uint64_t offset = 0;  // first Philox counter block of the reservation
};

// Reserves `blocks` Philox counter blocks (4 x 32 bits each) on dev's generator.
RngDraw reserve_random(Device dev, uint64_t blocks);
// Seeds every device's generator and rewinds its offset.
void seed_all(uint64_t seed);
// Seeds dev's generator alone and rewinds its offset; seed_all later overrides it.
void seed_device(Device dev, uint64_t seed);

}  // namespace mx::resource
