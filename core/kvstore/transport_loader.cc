#include "kvstore/transport_loader.h"

#include <cstdlib>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "engine/engine.h"
#include "kvstore/plugin_file.h"

namespace mx::kv {
namespace {

constexpr const char* kFile = "libmx_kvstore_mpi.so";

double env_double(const char* name, double def) {
  const char* v = std::getenv(name);
  if (!v || !*v) return def;
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  if (*end != '\0' || !(x > 0)) fail(MX_ERR_INVALID_ARGUMENT, "kvstore: ", name, "=", v, " is not a positive number");
  return x;
}

int env_int(const char* name, int def) {
  const char* v = std::getenv(name);
  if (!v || !*v) return def;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > 1 << 20) fail(MX_ERR_INVALID_ARGUMENT, "kvstore: ", name, "=", v, " is not a count");
  return int(x);
}

std::vector<void (*)()>& exit_hooks() {
  static auto* hooks = new std::vector<void (*)()>();
  return *hooks;
}

Transport* g_transport = nullptr;

void leave_job() {
  try {
    engine::get().wait_all();
  } catch (...) {  // failures were reported to whoever waited; leaving must go on
  }
  for (auto hook : exit_hooks()) hook();
  g_transport->api.finalize();
}

Transport* load() {
  std::string why;
  for (const std::string& path : plugin_candidates("MX_KVSTORE_TRANSPORT", kFile)) {
    auto init = reinterpret_cast<int (*)(mx_kv_transport*)>(open_plugin(path, "mx_kv_transport_init", true, why));
    if (!init) continue;
    auto* t = new Transport();
    t->path = path;
    if (init(&t->api) != 0 || t->api.abi_major != MX_KV_TRANSPORT_ABI_MAJOR ||
        t->api.struct_size < sizeof(mx_kv_transport)) {
      why += "\n  " + path + ": transport ABI " + std::to_string(t->api.abi_major) + " (this libmx needs " +
             std::to_string(MX_KV_TRANSPORT_ABI_MAJOR) + ") or failed init";
      delete t;
      continue;
    }
    return t;
  }
  fail(MX_ERR_NOT_FOUND, "kvstore: the dist_* types need the MPI transport ", kFile,
       ", which could not be loaded (install Open MPI: apt-get install libopenmpi-dev openmpi-bin, and build mx "
       "with it; or point MX_KVSTORE_TRANSPORT at the plugin):", why);
}

}  // namespace

void Transport::check(int rc) const {
  if (rc != 0) fail(MX_ERR_IO, api.last_error ? api.last_error() : "kvstore transport failed");
}

Transport& transport() {
  static std::mutex mu;
  std::lock_guard<std::mutex> lk(mu);
  if (g_transport) return *g_transport;
  Transport* t = load();
  mx_kv_transport_options opts{};
  opts.struct_size = sizeof(opts);
  opts.num_servers = env_int("MX_NUM_SERVERS", 0);
  opts.timeout_s = env_double("MX_KVSTORE_TIMEOUT", 60);
  opts.heartbeat_s = opts.timeout_s / 10 < 1 ? opts.timeout_s / 10 : 1;
  int32_t rank = 0, world = 1;
  t->check(t->api.init(&opts, &rank, &world));
  t->rank = rank;
  t->world = world;
  t->num_servers = opts.num_servers;
  t->num_workers = world - opts.num_servers;
  t->timeout_s = opts.timeout_s;
  g_transport = t;
  std::atexit(leave_job);
  return *t;
}

void at_transport_exit(void (*hook)()) { exit_hooks().push_back(hook); }

}  // namespace mx::kv
