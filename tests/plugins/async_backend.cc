// A fake asynchronous device for testing the engine's cross-stream ordering without a GPU. It
// serves device type kDLCUDA ("gpu") with host memory, but behaves like a GPU where it matters:
// every stream is a thread running its queue in order, run() and copy() only enqueue, kernels
// are slow (so a consumer that does not wait reads stale data), events complete when the
// stream reaches them, and stream_wait_event makes a stream — not the caller — wait.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mx/backend.h"
#include "mx/c_api.h"

namespace {

const mx_host_api* g_host = nullptr;

struct Event {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t recorded = 0, reached = 0;  // generations
  void wait_reached(uint64_t gen) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return reached >= gen; });
  }
};

struct Stream {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> work;
  size_t in_flight = 0;
  bool stop = false;
  std::thread thread;

  Stream() {
    thread = std::thread([this] {
      for (;;) {
        std::function<void()> f;
        {
          std::unique_lock<std::mutex> lk(mu);
          cv.wait(lk, [&] { return stop || !work.empty(); });
          if (work.empty()) return;
          f = std::move(work.front());
          work.pop_front();
        }
        f();
        std::lock_guard<std::mutex> lk(mu);
        --in_flight;
        cv.notify_all();
      }
    });
  }
  ~Stream() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
      cv.notify_all();
    }
    thread.join();
  }
  void enqueue(std::function<void()> f) {
    std::lock_guard<std::mutex> lk(mu);
    work.push_back(std::move(f));
    ++in_flight;
    cv.notify_all();
  }
  void sync() {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return in_flight == 0; });
  }
};

void slow() { std::this_thread::sleep_for(std::chrono::microseconds(300)); }

int64_t numel(const DLTensor& t) {
  int64_t n = 1;
  for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return n;
}
float* f32(const DLTensor& t) { return reinterpret_cast<float*>(static_cast<char*>(t.data) + t.byte_offset); }

int count(int32_t* n, const char** reason) {
  *n = 1;
  *reason = "";
  return 0;
}
int props(int32_t, mx_device_props* out) {
  std::snprintf(out->name, sizeof(out->name), "fake async device");
  out->total_memory = 1 << 30;
  out->free_memory = 1 << 30;
  out->supports_async = 1;
  out->supports_events = 1;
  return 0;
}
int alloc(int32_t, uint64_t bytes, uint64_t align, void** out) {
  *out = std::aligned_alloc(align, (bytes + align - 1) / align * align);
  return *out ? 0 : -1;
}
void release(int32_t, void* p) { std::free(p); }

int copy(const DLTensor* src, DLTensor* dst, mx_stream_t s) {
  const size_t bytes = size_t(numel(*src)) * ((src->dtype.bits + 7) / 8);
  const char* from = static_cast<const char*>(src->data) + src->byte_offset;
  char* to = static_cast<char*>(dst->data) + dst->byte_offset;
  if (!s) {
    std::memcpy(to, from, bytes);
    return 0;
  }
  if (src->device.device_type == kDLCPU) {
    // As CUDA with pageable host memory: the host source is read now, at the call, not in stream
    // order (so the caller must have the source complete on the host).
    auto staged = std::make_shared<std::vector<char>>(from, from + bytes);
    static_cast<Stream*>(s)->enqueue([=] {
      slow();
      std::memcpy(to, staged->data(), bytes);
    });
    return 0;
  }
  static_cast<Stream*>(s)->enqueue([=] {
    slow();
    std::memcpy(to, from, bytes);
  });
  return 0;
}

// Borrowed native streams (DLPack): a "native stream" of this fake device is a Stream made by the
// test hook below; the wrapper is the Stream itself, and stream_destroy leaves native ones alone.
std::mutex g_native_mu;
std::set<Stream*> g_native;
bool is_native(Stream* s) {
  std::lock_guard<std::mutex> lk(g_native_mu);
  return g_native.count(s) != 0;
}
int stream_from_native(int32_t, uint64_t native, mx_stream_t* out) {
  auto* s = reinterpret_cast<Stream*>(uintptr_t(native));
  if (!is_native(s)) {
    if (g_host) g_host->set_error(MX_ERR_INVALID_ARGUMENT, "fakeasync: not a native stream of this device");
    return -1;
  }
  *out = s;
  return 0;
}

int stream_create(int32_t, mx_stream_t* out) {
  *out = new Stream();
  return 0;
}
int stream_destroy(mx_stream_t s) {
  if (!is_native(static_cast<Stream*>(s))) delete static_cast<Stream*>(s);
  return 0;
}
int stream_sync(mx_stream_t s) {
  static_cast<Stream*>(s)->sync();
  return 0;
}
int event_create(int32_t, mx_event_t* out) {
  *out = new Event();
  return 0;
}
int event_destroy(mx_event_t e) {
  delete static_cast<Event*>(e);
  return 0;
}
int event_record(mx_event_t e, mx_stream_t s) {
  auto* ev = static_cast<Event*>(e);
  uint64_t gen;
  {
    std::lock_guard<std::mutex> lk(ev->mu);
    gen = ++ev->recorded;
  }
  static_cast<Stream*>(s)->enqueue([ev, gen] {
    std::lock_guard<std::mutex> lk(ev->mu);
    if (ev->reached < gen) ev->reached = gen;
    ev->cv.notify_all();
  });
  return 0;
}
int stream_wait_event(mx_stream_t s, mx_event_t e) {
  auto* ev = static_cast<Event*>(e);
  uint64_t gen;
  {
    std::lock_guard<std::mutex> lk(ev->mu);
    gen = ev->recorded;
  }
  static_cast<Stream*>(s)->enqueue([ev, gen] { ev->wait_reached(gen); });  // the stream waits
  return 0;
}
int event_query(mx_event_t e, int32_t* done) {
  auto* ev = static_cast<Event*>(e);
  std::lock_guard<std::mutex> lk(ev->mu);
  *done = ev->reached >= ev->recorded;
  return 0;
}
int event_sync(mx_event_t e) {
  auto* ev = static_cast<Event*>(e);
  uint64_t gen;
  {
    std::lock_guard<std::mutex> lk(ev->mu);
    gen = ev->recorded;
  }
  ev->wait_reached(gen);
  return 0;
}

// Kernels: _full and elemwise_add on float32, enqueued slow.
int full_create(const mx_kernel_args* a, void** st) {
  double v = 0;
  for (int i = 0; i < a->num_attrs; ++i)
    if (std::strcmp(a->attr_keys[i], "value") == 0) v = std::atof(a->attr_vals[i]);
  *st = new float(float(v));
  return 0;
}
int full_run(void* st, const mx_kernel_ctx* ctx, const DLTensor*, int32_t, DLTensor* out, int32_t) {
  const float v = *static_cast<float*>(st);
  float* o = f32(out[0]);
  const int64_t n = numel(out[0]);
  static_cast<Stream*>(ctx->stream)->enqueue([=] {
    slow();
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  });
  return 0;
}
void full_destroy(void* st) { delete static_cast<float*>(st); }
int add_create(const mx_kernel_args*, void** st) {
  *st = nullptr;
  return 0;
}
int add_run(void*, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const float *a = f32(in[0]), *b = f32(in[1]);
  float* o = f32(out[0]);
  const int64_t n = numel(out[0]);
  static_cast<Stream*>(ctx->stream)->enqueue([=] {
    slow();
    for (int64_t i = 0; i < n; ++i) o[i] = a[i] + b[i];
  });
  return 0;
}
void no_destroy(void*) {}

const mx_kernel kKernels[] = {
    {sizeof(mx_kernel), "_full", full_create, full_run, full_destroy},
    {sizeof(mx_kernel), "elemwise_add", add_create, add_run, no_destroy},
};

const mx_kernel* find_kernel(const char* name) {
  for (const mx_kernel& k : kKernels)
    if (std::strcmp(k.op_name, name) == 0) return &k;
  return nullptr;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int mx_backend_init(const mx_host_api* host, mx_backend_api* out) {
  g_host = host;
  out->abi_major = MX_BACKEND_ABI_MAJOR;
  out->abi_minor = MX_BACKEND_ABI_MINOR;
  out->name = "fakeasync";
  out->device_type = kDLCUDA;
  out->version = "test";
  out->device_count = count;
  out->device_props = props;
  out->alloc = alloc;
  out->free = release;
  out->copy = copy;
  out->stream_create = stream_create;
  out->stream_destroy = stream_destroy;
  out->stream_sync = stream_sync;
  out->event_create = event_create;
  out->event_destroy = event_destroy;
  out->event_record = event_record;
  out->stream_wait_event = stream_wait_event;
  out->event_query = event_query;
  out->event_sync = event_sync;
  out->find_kernel = find_kernel;
  if (out->struct_size >= offsetof(mx_backend_api, stream_from_native) + sizeof(out->stream_from_native))
    out->stream_from_native = stream_from_native;
  return 0;
}

// Test hooks standing in for another framework's streams (engine_async_test dlsym's them).
extern "C" __attribute__((visibility("default"))) uint64_t mx_fake_native_stream_new() {
  auto* s = new Stream();
  std::lock_guard<std::mutex> lk(g_native_mu);
  g_native.insert(s);
  return uint64_t(uintptr_t(s));
}
// Enqueues on the native stream: copy n floats src -> dst (after `delay_ms`).
extern "C" __attribute__((visibility("default"))) void mx_fake_native_stream_copy(uint64_t native, const float* src,
                                                                                   float* dst, int64_t n,
                                                                                   int delay_ms) {
  reinterpret_cast<Stream*>(uintptr_t(native))->enqueue([=] {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    std::memcpy(dst, src, size_t(n) * sizeof(float));
  });
}
extern "C" __attribute__((visibility("default"))) void mx_fake_native_stream_sync(uint64_t native) {
  reinterpret_cast<Stream*>(uintptr_t(native))->sync();
}
extern "C" __attribute__((visibility("default"))) void mx_fake_native_stream_free(uint64_t native) {
  auto* s = reinterpret_cast<Stream*>(uintptr_t(native));
  {
    std::lock_guard<std::mutex> lk(g_native_mu);
    g_native.erase(s);
  }
  delete s;
}
