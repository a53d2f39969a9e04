// libmx_kvstore_mpi.so, the slots that move data: collectives among the workers and point-to-point
// messages between any ranks. Each starts a non-blocking MPI call and waits for it with
// poll_loop (mpi_transport.cc), which fails as soon as a peer is lost.
#include <algorithm>
#include <bit>
#include <cmath>

#include "mpi_internal.h"
#include "mx/c_api.h"

namespace mx::kvmpi {
namespace {

// ---------------------------------------------------------------- float16 / bfloat16 sums
// MPI has no half types: these travel as MPI_UINT16_T with a user-defined sum.

float f16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

// Round to nearest, ties to even.
uint16_t float_to_f16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x > 0x7f800000u) return sign | 0x7e00;   // NaN
  if (x >= 0x477ff000u) return sign | 0x7c00;  // >= 65520 rounds to inf
  if (x < 0x38800000u) {                       // below 2^-14: a subnormal half (or zero)
    const uint32_t e = x >> 23;
    if (e < 102) return sign;  // below 2^-25: rounds to zero
    const uint32_t m = (x & 0x7fffffu) | 0x800000u, shift = 126 - e;
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  const uint32_t r = x - (112u << 23);  // rebias the exponent; the add below carries into it
  return static_cast<uint16_t>(sign | ((r + 0xfffu + ((r >> 13) & 1)) >> 13));
}

float bf16_to_float(uint16_t b) { return std::bit_cast<float>(uint32_t{b} << 16); }

uint16_t float_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);  // NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}

// MPI_User_function: inout[i] += in[i], computed in float32.
template <float (*ToFloat)(uint16_t), uint16_t (*FromFloat)(float)>
void half_sum(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) b[i] = FromFloat(ToFloat(a[i]) + ToFloat(b[i]));
}

const char* or_default(const char* what, const char* fallback) { return what && *what ? what : fallback; }

// Collectives are for workers; checked before any MPI call.
int check_worker(const char* fn, const char* what) {
  State& s = S();
  std::unique_lock<std::mutex> lk;
  if (enter(lk, what)) return -1;
  if (s.rank >= s.num_workers)
    return fail(
        std::string(fn) + " is a collective among the workers, and rank " + std::to_string(s.rank) + " is a server",
        what);
  return 0;
}

struct DtypeInfo {
  MPI_Datatype type;
  MPI_Op op;
  int size;
};

bool lookup_dtype(int32_t dtype, DtypeInfo* out) {
  State& s = S();
  switch (dtype) {
    case MX_FLOAT32:
      *out = {MPI_FLOAT, MPI_SUM, 4};
      return true;
    case MX_FLOAT64:
      *out = {MPI_DOUBLE, MPI_SUM, 8};
      return true;
    case MX_INT32:
      *out = {MPI_INT32_T, MPI_SUM, 4};
      return true;
    case MX_INT64:
      *out = {MPI_INT64_T, MPI_SUM, 8};
      return true;
    case MX_INT8:
      *out = {MPI_INT8_T, MPI_SUM, 1};
      return true;
    case MX_UINT8:
      *out = {MPI_UINT8_T, MPI_SUM, 1};
      return true;
    case MX_FLOAT16:
      *out = {MPI_UINT16_T, s.f16_sum, 2};
      return true;
    case MX_BFLOAT16:
      *out = {MPI_UINT16_T, s.bf16_sum, 2};
      return true;
    default:
      return false;
  }
}

std::string dtype_name(int32_t dtype) {
  switch (dtype) {
    case MX_BOOL:
      return "bool (7)";
    default:
      return "code " + std::to_string(dtype);
  }
}

// Checks a rank argument (-1 = any when allowed) and a tag (-1 = any when allowed).
int check_peer(const char* fn, int32_t peer, int32_t tag, bool wildcards, const char* what) {
  State& s = S();
  std::unique_lock<std::mutex> lk;
  if (enter(lk, what)) return -1;
  const int lowest = wildcards ? -1 : 0;
  if (peer < lowest || peer >= s.world)
    return fail(std::string(fn) + ": rank " + std::to_string(peer) + " is outside [" + std::to_string(lowest) + ", " +
                    std::to_string(s.world) + ")",
                what);
  if (peer == s.rank)
    return fail(
        std::string(fn) + ": rank " + std::to_string(peer) + " is this process (messages to self are not supported)",
        what);
  if (peer == -1 && s.world == 1) return fail(std::string(fn) + ": there is no other process to hear from", what);
  if (tag < lowest || tag > s.tag_ub)
    return fail(std::string(fn) + ": tag " + std::to_string(tag) + " is outside [" + std::to_string(lowest) + ", " +
                    std::to_string(s.tag_ub) + "]",
                what);
  return 0;
}

bool claim_matches(const State::Claim& c, int src, int tag) {
  return (src < 0 || c.src == src) && (tag < 0 || c.tag == tag);
}

}  // namespace

void create_half_ops(State& s) {
  MPI_Op_create(&half_sum<f16_to_float, float_to_f16>, 1, &s.f16_sum);
  MPI_Op_create(&half_sum<bf16_to_float, float_to_bf16>, 1, &s.bf16_sum);
}

// ---------------------------------------------------------------- collectives

int allreduce_sum(void* buf, int64_t count, int32_t dtype, const char* what) {
  return allreduce_sum_into(nullptr, buf, count, dtype, what);
}

int allreduce_sum_into(const void* send, void* buf, int64_t count, int32_t dtype, const char* what) {
  what = or_default(what, "allreduce_sum");
  if (check_worker("allreduce_sum", what)) return -1;
  DtypeInfo info;
  if (!lookup_dtype(dtype, &info))
    return fail("allreduce_sum: unsupported dtype " + dtype_name(dtype) +
                    " (supported: float32, float64, float16, bfloat16, int32, int64, int8, uint8)",
                what);
  if (count < 0) return fail("allreduce_sum: negative count " + std::to_string(count), what);
  if (count > 0 && !buf) return fail("allreduce_sum: null buffer", what);
  for (int64_t done = 0; done < count;) {
    const int n = static_cast<int>(std::min(count - done, S().max_chunk));
    char* chunk = static_cast<char*>(buf) + done * info.size;
    const void* from = send ? static_cast<const char*>(send) + done * info.size : MPI_IN_PLACE;
    MPI_Request req;
    if (start("MPI_Iallreduce", what,
              [&] { return MPI_Iallreduce(from, chunk, n, info.type, info.op, S().workers, &req); }))
      return -1;
    if (wait(req, MPI_STATUS_IGNORE, {Peers::kWorkers}, int64_t{n} * info.size, what)) return -1;
    done += n;
  }
  return 0;
}

int allgather(const void* send, int64_t bytes, void* recv, const char* what) {
  what = or_default(what, "allgather");
  if (check_worker("allgather", what)) return -1;
  if (bytes < 0 || bytes > INT_MAX)
    return fail("allgather: " + std::to_string(bytes) + " bytes per worker is outside [0, 2^31)", what);
  if (bytes == 0) return 0;
  if (!send || !recv) return fail("allgather: null buffer", what);
  // A send buffer that is this worker's own slot of recv must be passed as MPI_IN_PLACE.
  const void* in = send == static_cast<char*>(recv) + S().rank * bytes ? MPI_IN_PLACE : send;
  const int n = static_cast<int>(bytes);
  MPI_Request req;
  if (start("MPI_Iallgather", what,
            [&] { return MPI_Iallgather(in, n, MPI_BYTE, recv, n, MPI_BYTE, S().workers, &req); }))
    return -1;
  return wait(req, MPI_STATUS_IGNORE, {Peers::kWorkers}, bytes * S().num_workers, what);
}

int broadcast(void* buf, int64_t bytes, int32_t root, const char* what) {
  what = or_default(what, "broadcast");
  if (check_worker("broadcast", what)) return -1;
  if (root < 0 || root >= S().num_workers)
    return fail("broadcast: root " + std::to_string(root) + " is not a worker rank (0.." +
                    std::to_string(S().num_workers - 1) + ")",
                what);
  if (bytes < 0) return fail("broadcast: negative size " + std::to_string(bytes), what);
  if (bytes > 0 && !buf) return fail("broadcast: null buffer", what);
  for (int64_t done = 0; done < bytes;) {
    const int n = static_cast<int>(std::min<int64_t>(bytes - done, INT_MAX));
    char* chunk = static_cast<char*>(buf) + done;
    MPI_Request req;
    if (start("MPI_Ibcast", what, [&] { return MPI_Ibcast(chunk, n, MPI_BYTE, root, S().workers, &req); })) return -1;
    if (wait(req, MPI_STATUS_IGNORE, {Peers::kWorkers}, n, what)) return -1;
    done += n;
  }
  return 0;
}

int barrier(const char* what) {
  what = or_default(what, "barrier");
  if (check_worker("barrier", what)) return -1;
  MPI_Request req;
  if (start("MPI_Ibarrier", what, [&] { return MPI_Ibarrier(S().workers, &req); })) return -1;
  return wait(req, MPI_STATUS_IGNORE, {Peers::kWorkers}, 0, what);
}

// ---------------------------------------------------------------- point-to-point

int send(int32_t dst, int32_t tag, const void* buf, int64_t bytes, const char* what) {
  what = or_default(what, "send");
  if (check_peer("send", dst, tag, false, what)) return -1;
  if (bytes < 0 || bytes > INT_MAX) return fail("send: " + std::to_string(bytes) + " bytes is outside [0, 2^31)", what);
  if (bytes > 0 && !buf) return fail("send: null buffer", what);
  MPI_Request req;
  if (start("MPI_Isend", what,
            [&] { return MPI_Isend(buf, static_cast<int>(bytes), MPI_BYTE, dst, tag, S().p2p, &req); }))
    return -1;
  return wait(req, MPI_STATUS_IGNORE, Peers::of(dst), bytes, what);
}

int probe(int32_t src, int32_t tag, int32_t* out_src, int32_t* out_tag, int64_t* out_bytes, const char* what) {
  what = or_default(what, "probe");
  if (check_peer("probe", src, tag, true, what)) return -1;
  if (!out_src || !out_tag || !out_bytes) return fail("probe: null output", what);
  State& s = S();
  const auto self = std::this_thread::get_id();
  return poll_loop(Peers::of(src), 0, what, [&] {
    auto report = [&](const State::Claim& c) {
      *out_src = c.src;
      *out_tag = c.tag;
      *out_bytes = c.bytes;
      return 1;
    };
    // A message this thread already claimed is older than anything still queued from its source.
    for (const auto& c : s.claims)
      if (c.owner == self && claim_matches(c, src, tag)) return report(c);
    int found = 0;
    MPI_Message msg;
    MPI_Status st;
    int code = MPI_Improbe(src < 0 ? MPI_ANY_SOURCE : src, tag < 0 ? MPI_ANY_TAG : tag, s.p2p, &found, &msg, &st);
    if (code != MPI_SUCCESS) return fail_mpi("MPI_Improbe", code, what);
    if (!found) return 0;
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    s.claims.push_back({st.MPI_SOURCE, st.MPI_TAG, count, msg, self});
    return report(s.claims.back());
  });
}

int recv(int32_t src, int32_t tag, void* buf, int64_t bytes, const char* what) {
  what = or_default(what, "recv");
  if (check_peer("recv", src, tag, true, what)) return -1;
  if (bytes < 0 || bytes > INT_MAX) return fail("recv: " + std::to_string(bytes) + " bytes is outside [0, 2^31)", what);
  if (bytes > 0 && !buf) return fail("recv: null buffer", what);
  State& s = S();
  const int n = static_cast<int>(bytes);
  MPI_Request req;
  {
    std::unique_lock<std::mutex> lk;
    if (enter(lk, what)) return -1;
    // The message a probe claimed: this thread's first, else another thread's (probe and recv may
    // run on different threads), else a fresh receive.
    const auto self = std::this_thread::get_id();
    auto it = std::find_if(s.claims.begin(), s.claims.end(),
                           [&](const State::Claim& c) { return c.owner == self && claim_matches(c, src, tag); });
    if (it == s.claims.end())
      it = std::find_if(s.claims.begin(), s.claims.end(),
                        [&](const State::Claim& c) { return claim_matches(c, src, tag); });
    int code;
    if (it == s.claims.end()) {
      code = MPI_Irecv(buf, n, MPI_BYTE, src < 0 ? MPI_ANY_SOURCE : src, tag < 0 ? MPI_ANY_TAG : tag, s.p2p, &req);
    } else {
      if (it->bytes != bytes)  // the message stays claimed: a recv with the right size gets it
        return fail("recv: the message from rank " + std::to_string(it->src) + " tag " + std::to_string(it->tag) +
                        " has " + std::to_string(it->bytes) + " bytes, not " + std::to_string(bytes),
                    what);
      MPI_Message msg = it->msg;
      s.claims.erase(it);
      code = MPI_Imrecv(buf, n, MPI_BYTE, &msg, &req);
    }
    if (code != MPI_SUCCESS) return fail_mpi("MPI_Irecv", code, what);
  }
  MPI_Status st;
  if (wait(req, &st, Peers::of(src), bytes, what)) return -1;
  int count = 0;
  {
    std::lock_guard<std::mutex> lk(s.mpi_mu);
    MPI_Get_count(&st, MPI_BYTE, &count);
  }
  if (count != bytes)
    return fail("recv: expected " + std::to_string(bytes) + " bytes from rank " + std::to_string(st.MPI_SOURCE) +
                    " tag " + std::to_string(st.MPI_TAG) + ", the message has " + std::to_string(count),
                what);
  return 0;
}

}  // namespace mx::kvmpi
