// The process's distributed transport: the plugin (transport.h) loaded on first use, the job joined,
// and the roles the launcher gave (world ranks [0, num_workers) are workers, the rest servers).
#pragma once

#include <string>

#include "kvstore/transport.h"

namespace mx::kv {

struct Transport {
  mx_kv_transport api{};
  std::string path;
  int rank = 0, world = 1, num_servers = 0, num_workers = 1;
  double timeout_s = 60;

  bool is_server() const { return rank >= num_workers; }
  // Throws mx::Error (MX_ERR_IO) with the plugin's message when rc != 0.
  void check(int rc) const;
};

// Loads the plugin (MX_KVSTORE_TRANSPORT, else libmx_kvstore_mpi.so next to libmx.so or in the build
// directory) and joins the job with MX_NUM_SERVERS servers and MX_KVSTORE_TIMEOUT seconds (60) before
// a silent peer counts as lost. Throws MX_ERR_NOT_FOUND naming the files tried and why they failed.
Transport& transport();

// Runs at exit before the transport leaves the job (workers: tell the servers they are done).
void at_transport_exit(void (*hook)());

}  // namespace mx::kv
