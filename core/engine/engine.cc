#include <atomic>
#include <cstdlib>
#include <mutex>
#include <pthread.h>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/threaded_engine.h"
#include "engine/var.h"

namespace mx::engine {
namespace {

std::mutex g_mu;
Engine* g_engine = nullptr;  // never destroyed: worker threads may outlive static teardown
std::atomic<DeviceStreams*> g_streams{nullptr};

// Fork hooks of other modules (storage, resource): small, registered once each, never removed.
std::mutex g_hooks_mu;
std::vector<ForkHooks>& hooks_list() {  // modules register from their static initialisers
  static auto* hooks = new std::vector<ForkHooks>();  // never destroyed
  return *hooks;
}

// prepare: g_mu (no engine switch), the engine quiesced, then each module's locks in
// registration order; parent / child undo it in reverse. The thread calling fork() owns every
// lock taken here, in both processes, so both unlock them.
void atfork_prepare() {
  g_mu.lock();
  if (g_engine) g_engine->fork_prepare();
  g_hooks_mu.lock();
  for (const ForkHooks& h : hooks_list()) h.prepare();
  lock_errors_for_fork();
}

void atfork_parent() {
  unlock_errors_after_fork();
  for (auto it = hooks_list().rbegin(); it != hooks_list().rend(); ++it) it->parent();
  g_hooks_mu.unlock();
  if (g_engine) g_engine->fork_parent();
  g_mu.unlock();
}

void atfork_child() {
  unlock_errors_after_fork();
  for (auto it = hooks_list().rbegin(); it != hooks_list().rend(); ++it) it->child();
  g_hooks_mu.unlock();
  if (g_engine) g_engine->fork_child();
  g_mu.unlock();
}

void register_atfork() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(atfork_prepare, atfork_parent, atfork_child); });
}

std::unique_ptr<Engine> make(const std::string& type, int cpu_threads) {
  register_atfork();
  if (type == "naive" || type == "NaiveEngine") return make_naive_engine();
  if (type == "threaded" || type == "ThreadedEnginePerDevice" || type == "ThreadedEngine")
    return make_threaded_engine(cpu_threads);
  fail(MX_ERR_INVALID_ARGUMENT, "unknown engine type '", type, "' (expected threaded or naive)");
}

}  // namespace

Var* new_var() { return new Var(); }

// The naive engine of threads inside an InlineScope. (Not initial-exec TLS: libmx is dlopen'ed by
// Python, and glibc's static TLS reserve for such libraries is small and shared.)
thread_local Engine* t_inline = nullptr;

Engine& inline_engine() {
  static Engine* e = make_naive_engine().release();  // never destroyed, like the main engine
  return *e;
}

InlineScope::InlineScope() : saved_(t_inline) { t_inline = &inline_engine(); }
InlineScope::~InlineScope() { t_inline = saved_; }

Engine& process_engine() {
  // Fast path without the lock: the pointer only changes in set_type, which callers serialise.
  if (Engine* e = __atomic_load_n(&g_engine, __ATOMIC_ACQUIRE)) return *e;
  std::lock_guard<std::mutex> lk(g_mu);
  if (!g_engine) {
    const char* env = std::getenv("MX_ENGINE_TYPE");
    Engine* e = make(env && *env ? env : "threaded", 0).release();
    __atomic_store_n(&g_engine, e, __ATOMIC_RELEASE);
  }
  return *g_engine;
}

Engine& get() {
  if (Engine* e = t_inline) [[unlikely]]
    return *e;
  return process_engine();
}


void set_type(const std::string& type, int cpu_threads) {
  std::unique_ptr<Engine> next = make(type, cpu_threads);
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_engine) {
    g_engine->wait_all();  // may throw: the old engine stays then
    delete g_engine;
  }
  __atomic_store_n(&g_engine, next.release(), __ATOMIC_RELEASE);
}

void add_fork_hooks(const ForkHooks& hooks) {
  register_atfork();
  std::lock_guard<std::mutex> lk(g_hooks_mu);
  hooks_list().push_back(hooks);
}

void set_device_streams(DeviceStreams* streams) { g_streams.store(streams, std::memory_order_release); }
DeviceStreams* device_streams() { return g_streams.load(std::memory_order_acquire); }

}  // namespace mx::engine
