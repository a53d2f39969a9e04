// libmx_kvstore_mpi.so: the KVStore's distributed transport (transport.h) on MPI. This half holds
// the state, the wait loop, the heartbeats, init/finalize and the exported table; mpi_ops.cc the
// collectives and point-to-point slots. Locking: see mpi_internal.h.
//
// Liveness: a thread sends a 1-byte heartbeat to every other rank every heartbeat_s on a
// communicator of its own and records when each peer was last heard. A peer silent for timeout_s
// is lost: the transport fails for good and makes no MPI call after that, so requests abandoned by
// failed waits are never progressed into buffers their callers have since reused.
// A rank that finalizes says "bye" instead of falling silent, so a worker that is done is not
// "lost" while a server or slower workers go on; an operation that still needs it fails timeout_s
// after the bye rather than waiting forever.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mpi_internal.h"

namespace mx::kvmpi {
namespace {

using namespace std::chrono_literals;

constexpr int kHeartbeatTag = 0;  // tags on the heartbeat communicator
constexpr int kByeTag = 1;

thread_local std::string t_last_error;

std::string prefix() {
  const State& s = S();
  if (s.phase == kNew) return "mx kvstore: ";
  return "mx kvstore (rank " + std::to_string(s.rank) + " of " + std::to_string(s.world) + "): ";
}

std::string format_seconds(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", std::chrono::duration<double>(d).count());
  return buf;
}

// A rank that finalized takes part in nothing any more; a wait that still needs it timeout_s after
// its bye (time enough for what it sent before to land) fails. Caller holds mpi_mu.
int check_departed(const Peers& peers, const char* what) {
  State& s = S();
  const auto now = Clock::now();
  const auto grace = std::chrono::duration<double>(s.timeout_s);
  auto gone = [&](int p) { return s.departed[p] && now - s.departed_at[p] > grace; };
  auto fail_left = [&](int p) {
    return fail("rank " + std::to_string(p) + " finalized " + format_seconds(now - s.departed_at[p]) + " s ago", what);
  };
  if (peers.kind == Peers::kOne && gone(peers.rank)) return fail_left(peers.rank);
  if (peers.kind == Peers::kWorkers)
    for (int p = 0; p < s.num_workers; ++p)
      if (p != s.rank && gone(p)) return fail_left(p);
  if (peers.kind == Peers::kAny) {
    for (int p = 0; p < s.world; ++p)
      if (p != s.rank && !gone(p)) return 0;
    return fail("every other rank has finalized", what);
  }
  return 0;
}

// ---------------------------------------------------------------- heartbeats

void heartbeat_rounds();

// A failure of the heartbeat thread itself ends liveness checking, so it fails the transport.
void heartbeat_loop() {
  try {
    heartbeat_rounds();
  } catch (const std::exception& e) {
    State& s = S();
    std::lock_guard<std::mutex> lk(s.mpi_mu);
    s.lost = true;
    s.lost_cause = std::string("the heartbeat thread failed (") + e.what() + ")";
  }
}

void heartbeat_rounds() {
  State& s = S();
  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.heartbeat_s));
  const auto timeout = std::chrono::duration<double>(s.timeout_s);
  // Drain often: a heartbeat that sits unread looks like silence.
  const auto tick = std::min<Clock::duration>(period, 50ms);
  std::vector<MPI_Request> sends(s.world, MPI_REQUEST_NULL);
  std::vector<Clock::time_point> heard(s.world, Clock::now());
  char out = 0, in = 0;
  MPI_Request recv = MPI_REQUEST_NULL;
  auto next_send = Clock::now();
  bool stopping = false;
  {
    std::lock_guard<std::mutex> lk(s.mpi_mu);
    MPI_Irecv(&in, 1, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, s.hb, &recv);
  }
  while (!stopping) {
    {
      std::unique_lock<std::mutex> lk(s.stop_mu);
      s.stop_cv.wait_for(lk, tick, [&] { return s.stop; });
      stopping = s.stop;
    }
    std::lock_guard<std::mutex> lk(s.mpi_mu);
    const auto now = Clock::now();
    for (;;) {  // drain what arrived
      int done = 0;
      MPI_Status st;
      if (recv == MPI_REQUEST_NULL || MPI_Test(&recv, &done, &st) != MPI_SUCCESS || !done) break;
      heard[st.MPI_SOURCE] = now;
      if (st.MPI_TAG == kByeTag && !s.departed[st.MPI_SOURCE]) {
        s.departed[st.MPI_SOURCE] = 1;
        s.departed_at[st.MPI_SOURCE] = now;
      }
      if (MPI_Irecv(&in, 1, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, s.hb, &recv) != MPI_SUCCESS) recv = MPI_REQUEST_NULL;
    }
    std::string cause;
    for (int p = 0; p < s.world; ++p) {
      if (p == s.rank || s.departed[p] || now - heard[p] <= timeout) continue;
      cause += (cause.empty() ? "" : ", ") + std::string("lost rank ") + std::to_string(p) + " (no heartbeat for " +
               format_seconds(now - heard[p]) + " s)";
    }
    if (!cause.empty()) {  // from now on no MPI call is made (see the top of the file)
      s.lost = true;
      s.lost_cause = cause;
      return;
    }
    if (now >= next_send || stopping) {
      // At most one heartbeat in flight per peer: one that has not taken the last is skipped.
      for (int p = 0; p < s.world; ++p) {
        if (p == s.rank || s.departed[p]) continue;
        int done = 1;
        if (sends[p] != MPI_REQUEST_NULL) MPI_Test(&sends[p], &done, MPI_STATUS_IGNORE);
        if (!done && !stopping) continue;
        if (!done) MPI_Request_free(&sends[p]);  // the bye goes out regardless
        MPI_Isend(&out, 1, MPI_BYTE, p, stopping ? kByeTag : kHeartbeatTag, s.hb, &sends[p]);
      }
      next_send = now + period;
    }
  }
  // The byes are out (tiny eager sends; a freed request still completes). Stop receiving.
  std::lock_guard<std::mutex> lk(s.mpi_mu);
  for (MPI_Request& r : sends)
    if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
  if (recv != MPI_REQUEST_NULL) {
    MPI_Cancel(&recv);
    MPI_Wait(&recv, MPI_STATUS_IGNORE);
  }
}

// ---------------------------------------------------------------- init / finalize

std::string version_text() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(text, &len);  // allowed before MPI_Init
  std::string v(text, std::max(len, 0));
  v = v.substr(0, v.find_first_of("\n,"));  // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  return v.empty() ? "MPI" : v;
}

int init_locked(const mx_kv_transport_options* o, State& s) {
  const char* what = "init";
  int initialized = 0, finalized = 0, provided = MPI_THREAD_SINGLE;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized) return fail("MPI was already finalized in this process", what);
  if (!initialized) {
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
      return fail("MPI_Init_thread failed", what);
    s.we_initialized_mpi = true;
  } else {  // someone else's MPI (e.g. mpi4py): use it, leave finalizing it to them
    MPI_Query_thread(&provided);
  }
  if (provided < MPI_THREAD_SERIALIZED)
    return fail("MPI provides thread level " + std::to_string(provided) +
                    "; the transport needs MPI_THREAD_SERIALIZED or more (its heartbeat thread "
                    "calls MPI)",
                what);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (o->num_servers < 0 || o->num_servers > world - 1)
    return fail("num_servers = " + std::to_string(o->num_servers) + " but the job has " + std::to_string(world) +
                    " processes; need 0 <= num_servers <= " + std::to_string(world - 1) +
                    " so that one worker at least remains",
                what);
  s.rank = rank;
  s.world = world;
  s.num_servers = o->num_servers;
  s.num_workers = world - o->num_servers;
  s.timeout_s = o->timeout_s;
  s.heartbeat_s = o->heartbeat_s;
  s.departed.assign(world, 0);
  s.departed_at.assign(world, Clock::time_point{});
  // Own communicators: user messages never match heartbeats or other MPI_COMM_WORLD traffic in
  // the process, and collectives run among the workers only.
  int code = MPI_Comm_dup(MPI_COMM_WORLD, &s.p2p);
  if (code == MPI_SUCCESS) code = MPI_Comm_dup(MPI_COMM_WORLD, &s.hb);
  if (code == MPI_SUCCESS)
    code = MPI_Comm_split(MPI_COMM_WORLD, rank < s.num_workers ? 0 : MPI_UNDEFINED, rank, &s.workers);
  if (code != MPI_SUCCESS) return fail_mpi("MPI_Comm_dup/split", code, what);
  for (MPI_Comm c : {s.p2p, s.hb, s.workers})
    if (c != MPI_COMM_NULL) MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
  create_half_ops(s);
  void* ub = nullptr;
  int has_ub = 0;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &has_ub);
  if (has_ub) s.tag_ub = *static_cast<int*>(ub);
  if (const char* c = std::getenv("MX_KVSTORE_MPI_CHUNK"); c && std::atoll(c) > 0)
    s.max_chunk = std::min<int64_t>(std::atoll(c), INT_MAX);
  return 0;
}

int init(const mx_kv_transport_options* opts, int32_t* out_rank, int32_t* out_world) {
  State& s = S();
  std::lock_guard<std::mutex> init_lk(s.init_mu);
  const char* what = "init";
  if (!opts || !out_rank || !out_world) return fail("null argument", what);
  if (opts->struct_size < offsetof(mx_kv_transport_options, heartbeat_s) + sizeof(double))
    return fail("options.struct_size " + std::to_string(opts->struct_size) +
                    " is smaller than the options of transport ABI 1.0",
                what);
  if (!(opts->timeout_s > 0) || !std::isfinite(opts->timeout_s))
    return fail("timeout_s must be > 0 seconds (got " + std::to_string(opts->timeout_s) + ")", what);
  if (!(opts->heartbeat_s > 0) || !(opts->heartbeat_s < opts->timeout_s))
    return fail("heartbeat_s must satisfy 0 < heartbeat_s < timeout_s (got heartbeat_s = " +
                    std::to_string(opts->heartbeat_s) + ", timeout_s = " + std::to_string(opts->timeout_s) + ")",
                what);
  if (s.phase == kClosed) return fail("init after finalize (MPI cannot start twice)", what);
  if (s.phase == kReady) {
    if (opts->num_servers != s.num_servers)
      return fail("init again with num_servers = " + std::to_string(opts->num_servers) +
                      ", but the job was joined with num_servers = " + std::to_string(s.num_servers),
                  what);
  } else {
    std::lock_guard<std::mutex> lk(s.mpi_mu);
    if (init_locked(opts, s)) return -1;
    s.heartbeat = std::thread(heartbeat_loop);  // waits for mpi_mu until init returns
    s.phase = kReady;
  }
  *out_rank = s.rank;
  *out_world = s.world;
  return 0;
}

int finalize() {
  State& s = S();
  std::lock_guard<std::mutex> init_lk(s.init_mu);
  if (s.phase != kReady) return 0;
  {
    std::lock_guard<std::mutex> lk(s.stop_mu);
    s.stop = true;
  }
  s.stop_cv.notify_all();
  s.heartbeat.join();
  std::lock_guard<std::mutex> lk(s.mpi_mu);
  s.phase = kClosed;
  if (s.lost) return 0;       // MPI_Finalize would wait for the dead peer
  for (auto& c : s.claims) {  // MPI wants matched messages received before MPI_Finalize
    std::vector<char> sink(c.bytes);
    MPI_Mrecv(sink.data(), static_cast<int>(c.bytes), MPI_BYTE, &c.msg, MPI_STATUS_IGNORE);
  }
  s.claims.clear();
  MPI_Op_free(&s.f16_sum);
  MPI_Op_free(&s.bf16_sum);
  for (MPI_Comm* c : {&s.workers, &s.p2p, &s.hb})
    if (*c != MPI_COMM_NULL) MPI_Comm_free(c);
  if (s.we_initialized_mpi && MPI_Finalize() != MPI_SUCCESS) return fail("MPI_Finalize failed", "finalize");
  return 0;
}

const char* last_error() { return t_last_error.c_str(); }

// No C++ exception (bad_alloc, a failed thread start) may cross the C table.
template <auto Fn>
struct Guarded;
template <class... Args, int (*Fn)(Args...)>
struct Guarded<Fn> {
  static int call(Args... args) noexcept {
    try {
      return Fn(args...);
    } catch (const std::exception& e) {
      return fail(std::string("internal error: ") + e.what(), nullptr);
    } catch (...) {
      return fail("internal error", nullptr);
    }
  }
};

}  // namespace

// Never destroyed: a joinable heartbeat thread must not be destroyed at exit if finalize was missed.
State& S() {
  static State* s = new State;
  return *s;
}

int fail(const std::string& reason, const char* what) {
  t_last_error = prefix() + reason + (what && *what ? std::string(" during ") + what : "");
  return -1;
}

int fail_mpi(const char* fn, int code, const char* what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
  return fail(std::string(fn) + " failed (" + std::string(text, len) + ")", what);
}

int enter(std::unique_lock<std::mutex>& lk, const char* what) {
  State& s = S();
  lk = std::unique_lock<std::mutex>(s.mpi_mu);
  if (s.lost) return fail(s.lost_cause, what);
  if (s.phase == kNew) return fail("transport used before init", what);
  if (s.phase == kClosed) return fail("transport used after finalize", what);
  return 0;
}

// Spins (yielding the core) for about as long as `bytes` take to move at 500 MB/s, then sleeps
// 10 us doubling up to 1 ms: a transfer in progress is polled tightly (MPI progresses it only
// inside MPI_Test), a long wait for a peer costs little CPU.
int poll_loop(const Peers& peers, int64_t bytes, const char* what, int (*poll)(void*), void* arg) {
  const auto spin_until = Clock::now() + 200us + std::chrono::microseconds(bytes / 500);
  auto nap = 10us;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk;
      if (enter(lk, what)) return -1;
      if (const int r = poll(arg); r != 0) return r > 0 ? 0 : -1;
      if (check_departed(peers, what)) return -1;
    }
    if (Clock::now() < spin_until) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(nap);
      nap = std::min<std::chrono::microseconds>(nap * 2, 1000us);
    }
  }
}

int wait(MPI_Request& req, MPI_Status* status, const Peers& peers, int64_t bytes, const char* what) {
  return poll_loop(peers, bytes, what, [&] {
    int done = 0;
    const int code = MPI_Test(&req, &done, status);
    return code != MPI_SUCCESS ? fail_mpi("MPI_Test", code, what) : done;
  });
}

}  // namespace mx::kvmpi

extern "C" __attribute__((visibility("default"))) int mx_kv_transport_init(mx_kv_transport* out) {
  namespace k = mx::kvmpi;
  if (!out) return -1;
  static const std::string version = k::version_text();
  std::memset(out, 0, sizeof *out);
  out->struct_size = sizeof(mx_kv_transport);
  out->abi_major = MX_KV_TRANSPORT_ABI_MAJOR;
  out->abi_minor = MX_KV_TRANSPORT_ABI_MINOR;
  out->name = "mpi";
  out->version = version.c_str();
  out->init = k::Guarded<k::init>::call;
  out->finalize = k::Guarded<k::finalize>::call;
  out->last_error = k::last_error;
  out->allreduce_sum = k::Guarded<k::allreduce_sum>::call;
  out->allgather = k::Guarded<k::allgather>::call;
  out->broadcast = k::Guarded<k::broadcast>::call;
  out->barrier = k::Guarded<k::barrier>::call;
  out->send = k::Guarded<k::send>::call;
  out->probe = k::Guarded<k::probe>::call;
  out->recv = k::Guarded<k::recv>::call;
  out->allreduce_sum_into = k::Guarded<k::allreduce_sum_into>::call;
  return 0;
}
