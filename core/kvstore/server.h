// The dist_async server: a process the launcher started as a server (world rank >= the number of
// workers) serves its share of the keys until every worker has said it is done.
#pragma once

namespace mx::kv {

// Returns when every worker has stopped; throws (naming the lost rank) when a worker is lost.
void run_server();

}  // namespace mx::kv
