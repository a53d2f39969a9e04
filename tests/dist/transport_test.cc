// Checks libmx_kvstore_mpi.so through its C table (core/kvstore/transport.h). Runs under mpirun:
//   transport_test <plugin.so> basic [--servers=N] [--chunk=N]   every slot, exact results
//   transport_test <plugin.so> fault                              rank 1 is SIGKILLed mid-allreduce
//   transport_test <plugin.so> shutdown                           ranks finalize at different times
// The plugin is dlopen'ed RTLD_LOCAL the way libmx loads it; this program links no MPI.
// Every rank prints its own "[rank r] ..." lines and exits non-zero on any failed check.
#include "transport.h"

#include <dlfcn.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mx/c_api.h"

namespace {

mx_kv_transport kv;
int g_rank = -1, g_world = 0, g_workers = 0;
std::atomic<int> g_checks{0}, g_failures{0};  // the ring test checks from two threads

void check(bool ok, int line, const std::string& what) {
  ++g_checks;
  if (ok) return;
  ++g_failures;
  std::printf("[rank %d] FAIL (line %d): %s\n", g_rank, line, what.c_str());
  std::fflush(stdout);
}
#define CHECK(cond, detail) check((cond), __LINE__, std::string(#cond) + " " + (detail))
// A slot that must succeed; prints the transport's message otherwise.
#define OK(call)                                                            \
  do {                                                                      \
    const int rc_ = (call); /* before last_error() is read */               \
    check(rc_ == 0, __LINE__, std::string(#call) + ": " + kv.last_error()); \
  } while (0)
// A slot that must fail with a message containing `needle`.
#define FAILS(call, needle)                                                                  \
  do {                                                                                       \
    int rc_ = (call);                                                                        \
    std::string msg_ = rc_ == 0 ? std::string("(succeeded)") : std::string(kv.last_error()); \
    check(rc_ == -1 && msg_.find(needle) != std::string::npos, __LINE__,                     \
          std::string(#call) + " should fail with '" + (needle) + "', got: " + msg_);        \
  } while (0)

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

mx_kv_transport_options options(int servers, double timeout_s = 30, double heartbeat_s = 0.5) {
  return {sizeof(mx_kv_transport_options), servers, timeout_s, heartbeat_s};
}

// ---- test-side encoders, independent of the plugin's (only exact values are used)
uint16_t f16_bits(double v) {
  if (v == 0) return 0;
  int e;
  const double f = std::frexp(std::fabs(v), &e);  // |v| = f * 2^e, f in [0.5, 1)
  const double mant = (f * 2 - 1) * 1024;
  if (mant != std::floor(mant) || e - 1 + 15 <= 0) std::abort();  // not exact: a test bug
  return static_cast<uint16_t>((v < 0 ? 0x8000 : 0) | ((e - 1 + 15) << 10) | int(mant));
}
double f16_value(uint16_t h) {
  if ((h & 0x7fff) == 0) return 0;
  const double v = std::ldexp(1 + (h & 0x3ff) / 1024.0, ((h >> 10) & 0x1f) - 15);
  return h & 0x8000 ? -v : v;
}
uint16_t bf16_bits(double v) {
  const float f = static_cast<float>(v);
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (u & 0xffff) std::abort();
  return static_cast<uint16_t>(u >> 16);
}
double bf16_value(uint16_t b) {
  const uint32_t u = uint32_t{b} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Rank r contributes value(i) * (r + 1); the sum over workers is value(i) * W(W+1)/2.
template <class T, class Value, class Encode, class Decode>
void check_allreduce(int32_t dtype, const char* name, int64_t count, Value value, Encode encode, Decode decode) {
  std::vector<T> buf(count);
  for (int64_t i = 0; i < count; ++i) buf[i] = encode(value(i) * (g_rank + 1));
  const std::string what = std::string("allreduce of ") + name + " x" + std::to_string(count);
  OK(kv.allreduce_sum(buf.data(), count, dtype, what.c_str()));
  const double factor = g_workers * (g_workers + 1) / 2.0;
  int64_t wrong = 0, first = -1;
  for (int64_t i = 0; i < count; ++i)
    if (decode(buf[i]) != value(i) * factor && wrong++ == 0) first = i;
  CHECK(wrong == 0, what + ": " + std::to_string(wrong) + " wrong elements, first at " + std::to_string(first) +
                        (first >= 0 ? " = " + std::to_string(decode(buf[first])) + ", expected " +
                                          std::to_string(value(first) * factor)
                                    : ""));
}

// One element, and 16 MB.
template <class T, class Value, class Encode, class Decode>
void check_allreduce_sizes(int32_t dtype, const char* name, Value value, Encode encode, Decode decode) {
  check_allreduce<T>(dtype, name, 1, value, encode, decode);
  check_allreduce<T>(dtype, name, (16 << 20) / sizeof(T), value, encode, decode);
}

template <class T, class Value>
void check_allreduce_sizes(int32_t dtype, const char* name, Value value) {
  check_allreduce_sizes<T>(
      dtype, name, value, [](double v) { return T(v); }, [](T v) { return double(v); });
}

// Sums that must round (to nearest, ties to even) in the plugin's float16/bfloat16 op. Rank 0
// gives 1, rank 1 a fraction of an ulp of 1, the others 0: one rounding whatever the reduction order.
void check_half_rounding() {
  if (g_workers < 2) return;
  struct Case {
    double from_rank1, sum_f16;
  };
  const double u = std::ldexp(1, -10);  // float16's ulp at 1
  const Case f16[] = {{u / 2, 1}, {1.5 * u, 1 + 2 * u}, {0.75 * u, 1 + u}, {0.25 * u, 1}};
  std::vector<uint16_t> a, b;
  for (const Case& c : f16) {
    a.push_back(f16_bits(g_rank == 0 ? 1 : g_rank == 1 ? c.from_rank1 : 0));
    b.push_back(bf16_bits(g_rank == 0 ? 1 : g_rank == 1 ? c.from_rank1 * 8 : 0));  // ulp 2^-7
  }
  // float16 extremes: two smallest subnormals add up exactly; 65504 + 65504 overflows to inf.
  a.push_back(g_rank < 2 ? 0x0001 : 0);
  a.push_back(g_rank < 2 ? 0x7bff : 0);
  OK(kv.allreduce_sum(a.data(), int64_t(a.size()), MX_FLOAT16, "float16 rounding"));
  OK(kv.allreduce_sum(b.data(), int64_t(b.size()), MX_BFLOAT16, "bfloat16 rounding"));
  for (size_t k = 0; k < std::size(f16); ++k) {
    CHECK(f16_value(a[k]) == f16[k].sum_f16,
          "float16 case " + std::to_string(k) + ": got " + std::to_string(f16_value(a[k])));
    const double want_bf16 = 1 + (f16[k].sum_f16 - 1) * 8;
    CHECK(bf16_value(b[k]) == want_bf16,
          "bfloat16 case " + std::to_string(k) + ": got " + std::to_string(bf16_value(b[k])));
  }
  CHECK(a[4] == 0x0002, "float16 subnormal sum: bits " + std::to_string(a[4]));
  CHECK(a[5] == 0x7c00, "float16 overflow: bits " + std::to_string(a[5]));
}

void test_collectives() {
  auto quarter = [](int64_t i) { return ((i % 7) - 3) * 0.25; };  // exact in every float type
  check_allreduce_sizes<float>(MX_FLOAT32, "float32", quarter);
  check_allreduce_sizes<double>(MX_FLOAT64, "float64", quarter);
  check_allreduce_sizes<uint16_t>(MX_FLOAT16, "float16", quarter, f16_bits, f16_value);
  check_allreduce_sizes<uint16_t>(MX_BFLOAT16, "bfloat16", quarter, bf16_bits, bf16_value);
  check_allreduce_sizes<int32_t>(MX_INT32, "int32", [](int64_t i) { return (i % 1000 - 500) * 1000.0; });
  check_allreduce_sizes<int64_t>(MX_INT64, "int64", [](int64_t i) { return std::ldexp(double(i % 13 + 1), 40) - 3; });
  check_allreduce_sizes<int8_t>(MX_INT8, "int8", [](int64_t i) { return double(i % 7 - 3); });
  check_allreduce_sizes<uint8_t>(MX_UINT8, "uint8", [](int64_t i) { return double(i % 7); });
  check_half_rounding();
  float one = 1;
  FAILS(kv.allreduce_sum(&one, 1, MX_BOOL, "allreduce of key 'flags'"), "unsupported dtype bool");
  FAILS(kv.allreduce_sum(&one, 1, 99, "allreduce of key 'x'"), "code 99");
  FAILS(kv.allreduce_sum(&one, 1, 99, "allreduce of key 'x'"), "during allreduce of key 'x'");

  // allgather: 5 bytes per worker, from a separate buffer and in place
  std::vector<uint8_t> mine(5), all(5 * g_workers, 0xee);
  for (int k = 0; k < 5; ++k) mine[k] = uint8_t(g_rank * 10 + k);
  OK(kv.allgather(mine.data(), 5, all.data(), "allgather of 5 bytes"));
  bool same = true;
  for (int w = 0; w < g_workers; ++w)
    for (int k = 0; k < 5; ++k) same = same && all[5 * w + k] == uint8_t(w * 10 + k);
  CHECK(same, "allgather result");
  std::vector<uint8_t> inplace(5 * g_workers, 0);
  std::memcpy(&inplace[5 * g_rank], mine.data(), 5);
  OK(kv.allgather(&inplace[5 * g_rank], 5, inplace.data(), "allgather in place"));
  CHECK(inplace == all, "in-place allgather result");
  FAILS(kv.allgather(mine.data(), int64_t{1} << 31, all.data(), "allgather"), "outside [0, 2^31)");

  // broadcast from the last worker (non-zero whenever there are two workers)
  const int root = g_workers - 1;
  std::vector<uint8_t> big((16 << 20) + 3, 0);
  if (g_rank == root)
    for (size_t i = 0; i < big.size(); ++i) big[i] = uint8_t(i * 31 + 7);
  OK(kv.broadcast(big.data(), int64_t(big.size()), root, "broadcast of 16 MB"));
  size_t bad = 0;
  for (size_t i = 0; i < big.size(); ++i) bad += big[i] != uint8_t(i * 31 + 7);
  CHECK(bad == 0, std::to_string(bad) + " wrong bytes after broadcast");
  FAILS(kv.broadcast(big.data(), 1, g_workers, "broadcast"), "not a worker rank");

  // barrier: nobody leaves before the last worker arrives
  OK(kv.barrier("barrier"));
  const auto t0 = std::chrono::steady_clock::now();
  if (g_rank == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  OK(kv.barrier("barrier after sleep"));
  CHECK(seconds_since(t0) > 0.2, "left the barrier after " + std::to_string(seconds_since(t0)));
}

std::vector<uint8_t> pattern(size_t n, int seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i * 13 + seed);
  return v;
}

void test_point_to_point() {
  // Ring, sender on a second thread (also exercises the plugin's locking): rank r sends r*100000
  // bytes to r+1, so rank 0 sends an empty message.
  const int next = (g_rank + 1) % g_world, prev = (g_rank + g_world - 1) % g_world;
  const auto out = pattern(size_t(g_rank) * 100000, g_rank);
  std::thread sender([&] { OK(kv.send(next, 7, out.data(), int64_t(out.size()), "ring send")); });
  int32_t src = -2, tag = -2;
  int64_t bytes = -2;
  OK(kv.probe(prev, 7, &src, &tag, &bytes, "ring probe"));
  CHECK(
      src == prev && tag == 7 && bytes == int64_t(prev) * 100000,
      "probe reported src " + std::to_string(src) + " tag " + std::to_string(tag) + " bytes " + std::to_string(bytes));
  std::vector<uint8_t> in(size_t(bytes > 0 ? bytes : 0));
  OK(kv.recv(prev, 7, in.data(), bytes, "ring recv"));
  CHECK(in == pattern(in.size(), prev), "ring payload");
  sender.join();

  // Everyone else sends rank 0 an empty message (tag 100+r), then 3 bytes (tag 200); rank 0
  // receives them with wildcard probes, the way a server waits for requests.
  if (g_rank != 0) {
    OK(kv.send(0, 100 + g_rank, nullptr, 0, "empty message"));
    const uint8_t three[3] = {1, 2, uint8_t(g_rank)};
    OK(kv.send(0, 200, three, 3, "3-byte message"));
  } else {
    std::set<int> empty_from, three_from;
    for (int k = 0; k < 2 * (g_world - 1); ++k) {
      OK(kv.probe(-1, -1, &src, &tag, &bytes, "wildcard probe"));
      uint8_t buf[3] = {0, 0, 0};
      if (bytes > 3) {
        CHECK(bytes <= 3, "unexpected message of " + std::to_string(bytes) + " bytes");
        break;
      }
      OK(kv.recv(src, tag, buf, bytes, "wildcard recv"));
      if (tag == 100 + src && bytes == 0) {
        CHECK(!three_from.count(src), "messages from one rank arrive in order");
        empty_from.insert(src);
      } else {
        CHECK(tag == 200 && bytes == 3 && buf[2] == src, "3-byte message from " + std::to_string(src));
        three_from.insert(src);
      }
    }
    CHECK(int(empty_from.size()) == g_world - 1 && int(three_from.size()) == g_world - 1, "all messages received");
  }

  // A recv of the wrong size fails and leaves the message for a correct one. (Rank 1 waits until
  // rank 0 is done with its wildcard probes.)
  if (g_rank == 1) {
    OK(kv.recv(0, 301, nullptr, 0, "go-ahead"));
    OK(kv.send(0, 300, "0123456789", 10, "10 bytes"));
  }
  if (g_rank == 0) {
    OK(kv.send(1, 301, nullptr, 0, "go-ahead"));
    char buf[10];
    OK(kv.probe(1, 300, &src, &tag, &bytes, "probe of 10 bytes"));
    CHECK(bytes == 10, "probe size " + std::to_string(bytes));
    FAILS(kv.recv(1, 300, buf, 5, "short recv"), "has 10 bytes, not 5");
    OK(kv.recv(1, 300, buf, 10, "recv of 10 bytes"));
    CHECK(std::memcmp(buf, "0123456789", 10) == 0, "payload of the 10-byte message");
  }
  FAILS(kv.send(g_rank, 1, nullptr, 0, "send to self"), "is this process");
  FAILS(kv.send(next, -1, nullptr, 0, "send with tag -1"), "tag -1");
  FAILS(kv.probe(g_world, 1, &src, &tag, &bytes, "probe of a bad rank"), "outside");
  FAILS(kv.send(next, 1, out.data(), int64_t{1} << 31, "send of 2 GiB"), "outside [0, 2^31)");

  // Server style: each worker sends its request to the last rank (a server), which answers.
  if (g_world - g_workers >= 1) {
    const int server = g_world - 1;
    if (g_rank < g_workers) {
      const int32_t want = 1000 * (g_rank + 1);
      OK(kv.send(server, 1, &want, 4, "request"));
      OK(kv.probe(server, 2, &src, &tag, &bytes, "wait for reply"));
      std::vector<uint8_t> reply(size_t(bytes > 0 ? bytes : 0));
      OK(kv.recv(server, 2, reply.data(), bytes, "reply"));
      CHECK(reply == pattern(size_t(want), g_rank), "server reply");
    } else if (g_rank == server) {
      for (int k = 0; k < g_workers; ++k) {
        int32_t want = 0;
        OK(kv.probe(-1, -1, &src, &tag, &bytes, "server wait for requests"));
        CHECK(tag == 1 && bytes == 4 && src < g_workers, "request header");
        OK(kv.recv(src, tag, &want, 4, "request"));
        const auto reply = pattern(size_t(want), src);
        OK(kv.send(src, 2, reply.data(), want, "reply"));
      }
    }
    if (g_rank >= g_workers) {
      float x = 1;
      FAILS(kv.allreduce_sum(&x, 1, MX_FLOAT32, "allreduce on a server"), "is a server");
      FAILS(kv.barrier("barrier on a server"), "is a server");
    }
  }
}

int run_basic(int servers) {
  mx_kv_transport_options bad = options(servers, 5, 5);
  int32_t rank = -1, world = -1;
  FAILS(kv.init(&bad, &rank, &world), "heartbeat_s");
  bad = options(servers, 0, 0.1);
  FAILS(kv.init(&bad, &rank, &world), "timeout_s");
  bad = options(1 << 20);
  FAILS(kv.init(&bad, &rank, &world), "num_servers");
  float x = 0;
  FAILS(kv.allreduce_sum(&x, 1, MX_FLOAT32, "early allreduce"), "before init");

  const mx_kv_transport_options good = options(servers);
  OK(kv.init(&good, &rank, &world));
  g_rank = rank;
  g_world = world;
  g_workers = world - servers;
  int32_t rank2 = -1, world2 = -1;
  OK(kv.init(&good, &rank2, &world2));
  CHECK(rank2 == rank && world2 == world, "second init returns the same ranks");
  const mx_kv_transport_options other = options(servers + 1);
  FAILS(kv.init(&other, &rank2, &world2), "num_servers");

  const auto t0 = std::chrono::steady_clock::now();
  if (g_rank < g_workers) test_collectives();
  const double collectives_s = seconds_since(t0);
  test_point_to_point();
  const double p2p_s = seconds_since(t0) - collectives_s;

  OK(kv.finalize());
  OK(kv.finalize());
  FAILS(kv.allreduce_sum(&x, 1, MX_FLOAT32, "late allreduce"), "after finalize");
  FAILS(kv.init(&good, &rank, &world), "after finalize");
  std::printf(
      "[rank %d of %d] basic (%d servers): %d checks, %d failed (collectives %.1f s, "
      "point-to-point %.1f s)\n",
      g_rank, g_world, servers, g_checks.load(), g_failures.load(), collectives_s, p2p_s);
  return g_failures ? 1 : 0;
}

// Rank 1 (a worker) dies while workers 0 and 2 are in an allreduce and the server (rank 3) waits
// in probe(-1, -1); each survivor must fail within the timeout naming rank 1, then exit 0.
int run_fault() {
  const double timeout_s = 3, heartbeat_s = 0.3;
  const mx_kv_transport_options opts = options(1, timeout_s, heartbeat_s);
  int32_t rank = -1, world = -1;
  OK(kv.init(&opts, &rank, &world));
  g_rank = rank;
  g_world = world;
  g_workers = world - 1;
  if (world != 4) {
    std::printf("[rank %d] fault mode needs 4 processes\n", rank);
    return 1;
  }
  constexpr int victim = 1;
  if (rank < g_workers) OK(kv.barrier("barrier before the fault"));
  std::string err;
  const auto t0 = std::chrono::steady_clock::now();
  if (rank == victim) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::printf("[rank %d] killing myself\n", rank);
    std::fflush(stdout);
    raise(SIGKILL);
  } else if (rank < g_workers) {
    std::vector<float> grad(1 << 20, 1.0f);
    FAILS(kv.allreduce_sum(grad.data(), int64_t(grad.size()), MX_FLOAT32, "allreduce of key 3"),
          "during allreduce of key 3");
    err = kv.last_error();
  } else {
    int32_t src, tag;
    int64_t bytes;
    FAILS(kv.probe(-1, -1, &src, &tag, &bytes, "server wait for requests"), "during server wait for requests");
    err = kv.last_error();
  }
  const double waited = seconds_since(t0);
  std::printf("[rank %d] failed after %.1f s with: %s\n", rank, waited, err.c_str());
  CHECK(err.find("lost rank 1 (no heartbeat for") != std::string::npos, err);
  CHECK(err.find("(rank " + std::to_string(rank) + " of 4)") != std::string::npos, err);
  for (int other : {0, 2, 3}) CHECK(err.find("lost rank " + std::to_string(other)) == std::string::npos, err);
  CHECK(waited > timeout_s - 0.5 && waited < timeout_s + 3, "waited " + std::to_string(waited));

  // Every later call fails at once with the same cause; finalize returns without hanging.
  const auto t1 = std::chrono::steady_clock::now();
  if (rank < g_workers) FAILS(kv.barrier("barrier after the fault"), "lost rank 1");
  FAILS(kv.send(0 == rank ? 2 : 0, 5, nullptr, 0, "send after the fault"), "lost rank 1");
  OK(kv.finalize());
  CHECK(seconds_since(t1) < 1, "calls after the loss took " + std::to_string(seconds_since(t1)));
  std::printf("[rank %d of %d] fault: %d checks, %d failed\n", rank, world, g_checks.load(), g_failures.load());
  return g_failures ? 1 : 0;
}

// Orderly shutdown at different times: a finalized rank says bye, so nobody reports it lost, while
// a wait that needs it fails (timeout_s after its bye) instead of hanging. Workers 0..2, server 3.
int run_shutdown() {
  const double timeout_s = 1.5;
  const mx_kv_transport_options opts = options(1, timeout_s, 0.2);
  int32_t rank = -1, world = -1;
  OK(kv.init(&opts, &rank, &world));
  g_rank = rank;
  g_world = world;
  if (world != 4) return 1;
  int32_t src, tag;
  int64_t bytes;
  const auto t0 = std::chrono::steady_clock::now();
  if (rank == 2) {  // outlives the others' finalize by more than timeout_s, then talks to the server
    std::this_thread::sleep_for(std::chrono::duration<double>(timeout_s + 1));
    OK(kv.send(3, 9, "late", 4, "late request"));
  } else if (rank == 3) {
    OK(kv.probe(-1, -1, &src, &tag, &bytes, "server wait for the late request"));
    char buf[4];
    OK(kv.recv(src, tag, buf, 4, "late request"));
    CHECK(src == 2 && seconds_since(t0) > timeout_s, "late request from rank " + std::to_string(src));
    FAILS(kv.probe(0, -1, &src, &tag, &bytes, "probe of a finalized rank"), "rank 0 finalized");
    FAILS(kv.probe(-1, -1, &src, &tag, &bytes, "probe after everyone left"), "every other rank has finalized");
  }
  OK(kv.finalize());
  std::printf("[rank %d of %d] shutdown: %d checks, %d failed (%.1f s)\n", rank, world, g_checks.load(),
              g_failures.load(), seconds_since(t0));
  return g_failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <libmx_kvstore_mpi.so> basic|fault|shutdown [--servers=N] [--chunk=N]\n", argv[0]);
    return 2;
  }
  int servers = 0;
  for (int i = 3; i < argc; ++i) {
    if (std::strncmp(argv[i], "--servers=", 10) == 0) servers = std::atoi(argv[i] + 10);
    // The plugin splits allreduces into chunks of at most this many elements (test knob).
    if (std::strncmp(argv[i], "--chunk=", 8) == 0) setenv("MX_KVSTORE_MPI_CHUNK", argv[i] + 8, 1);
  }
  void* lib = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
    return 1;
  }
  auto init = reinterpret_cast<mx_kv_transport_init_fn>(dlsym(lib, "mx_kv_transport_init"));
  if (!init || init(&kv) != 0 || kv.abi_major != MX_KV_TRANSPORT_ABI_MAJOR ||
      kv.struct_size < sizeof(mx_kv_transport) || std::strcmp(kv.name, "mpi") != 0 || std::strlen(kv.version) == 0) {
    std::fprintf(stderr, "%s: not a usable transport plugin\n", argv[1]);
    return 1;
  }
  const std::string mode = argv[2];
  if (mode == "basic") return run_basic(servers);
  if (mode == "fault") return run_fault();
  if (mode == "shutdown") return run_shutdown();
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
