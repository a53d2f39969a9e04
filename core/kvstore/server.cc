// The server loop of dist_async: requests arrive in any order from any worker and are served one at
// a time, so each push is applied exactly once and a pull sees every push that arrived before it
// (MPI keeps one sender's messages in order, so a worker always pulls its own pushes back).
#include "kvstore/server.h"

#include <cstring>
#include <sstream>
#include <unordered_map>

#include "base/dtype.h"
#include "base/error.h"
#include "kvstore/compression.h"
#include "kvstore/optimizer.h"
#include "kvstore/transport_loader.h"
#include "kvstore/wire.h"

namespace mx::kv {
namespace {

class Server {
 public:
  explicit Server(Transport& t) : t_(t) {}

  void run() {
    int stopped = 0;
    std::string buf;
    while (stopped < t_.num_workers) {
      int32_t src = 0, tag = 0;
      int64_t bytes = 0;
      t_.check(t_.api.probe(-1, kRequestTag, &src, &tag, &bytes, "waiting for requests"));
      buf.resize(size_t(bytes));
      t_.check(t_.api.recv(src, tag, buf.data(), bytes, "receiving a request"));
      const std::string from = "worker " + std::to_string(src);
      const Msg m = decode(buf, from);
      if (m.kind == MsgKind::kStop) {
        ++stopped;
        continue;
      }
      try {
        handle(m, src);
      } catch (const Error& e) {
        if (m.kind == MsgKind::kPull || m.kind == MsgKind::kSaveStates || m.kind == MsgKind::kLoadStates)
          reply(src, std::string("error: ") + e.what());  // the worker reports it
        else std::fprintf(stderr, "mx kvstore server (rank %d): %s\n", t_.rank, e.what());
      }
    }
  }

 private:
  void handle(const Msg& m, int src) {
    switch (m.kind) {
      case MsgKind::kInit: {
        NDArray a(m.shape, m.dtype, cpu());
        if (m.payload.size() != a.nbytes())
          fail(MX_ERR_IO, "kvstore server: init of key '", m.key, "' carries ", m.payload.size(), " bytes for ",
               shape_str(m.shape));
        a.copy_from_host(m.payload.data(), a.nbytes());
        store_[m.key] = a;
        break;
      }
      case MsgKind::kPush: {
        NDArray& stored = find(m.key, "push");
        if (m.shape != stored.shape() || m.dtype != stored.dtype())
          fail(MX_ERR_SHAPE_MISMATCH, "kvstore server: push of key '", m.key, "' from worker ", src, " is ",
               shape_str(m.shape), " ", dtype_info(m.dtype).name, " but the key was initialised as ",
               shape_str(stored.shape()), " ", dtype_info(stored.dtype()).name);
        NDArray grad(m.shape, m.dtype, cpu());
        if (m.threshold > 0) {
          if (m.payload.size() != uint64_t(packed_words_2bit(grad.size())) * 4)
            fail(MX_ERR_IO, "kvstore server: 2bit push of key '", m.key, "' has ", m.payload.size(), " bytes");
          std::vector<uint32_t> words(m.payload.size() / 4);
          std::memcpy(words.data(), m.payload.data(), m.payload.size());
          std::vector<float> values(size_t(grad.size()));
          dequantize_2bit(words.data(), grad.size(), m.threshold, values.data(), false);
          grad.copy_from_host(values.data(), grad.nbytes());
        } else {
          if (m.payload.size() != grad.nbytes())
            fail(MX_ERR_IO, "kvstore server: push of key '", m.key, "' carries ", m.payload.size(), " bytes");
          grad.copy_from_host(m.payload.data(), grad.nbytes());
        }
        if (optimizer_) optimizer_->update(m.key, stored, grad, 0);
        else copy(grad, stored);
        stored.wait_to_read();
        break;
      }
      case MsgKind::kPull: {
        NDArray& stored = find(m.key, "pull");
        std::string data(stored.nbytes(), '\0');
        stored.copy_to_host(data.data(), data.size());
        reply(src, data);
        break;
      }
      case MsgKind::kSetOptimizer: {
        OptimizerParams params;
        std::istringstream lines{std::string(m.payload)};
        for (std::string line; std::getline(lines, line);) {
          const size_t eq = line.find('=');
          if (eq != std::string::npos) params.push_back({line.substr(0, eq), line.substr(eq + 1)});
        }
        optimizer_ = Optimizer::create(m.key, params);
        break;
      }
      case MsgKind::kSaveStates:
        reply(src, optimizer(m.kind).save_states());
        break;
      case MsgKind::kLoadStates:
        optimizer(m.kind).load_states(m.payload.data(), m.payload.size(), "optimizer states from worker " + std::to_string(src));
        reply(src, std::string());
        break;
      case MsgKind::kFlush:
        reply(src, std::string());
        break;
      case MsgKind::kStop:
        break;
    }
  }

  Optimizer& optimizer(MsgKind kind) {
    if (!optimizer_)
      fail(MX_ERR_INVALID_ARGUMENT, "kvstore server (rank ", t_.rank, "): ",
           kind == MsgKind::kSaveStates ? "save" : "load", " of optimizer states, but no optimizer is set");
    return *optimizer_;
  }

  NDArray& find(const std::string& key, const char* op) {
    auto it = store_.find(key);
    if (it == store_.end()) fail(MX_ERR_NOT_FOUND, "kvstore server (rank ", t_.rank, "): ", op, " of key '", key, "' before its init");
    return it->second;
  }

  void reply(int dst, const std::string& data) {
    t_.check(t_.api.send(dst, kReplyTag, data.data(), int64_t(data.size()), "reply"));
  }

  Transport& t_;
  std::unordered_map<std::string, NDArray> store_;
  std::unique_ptr<Optimizer> optimizer_;
};

}  // namespace

void run_server() {
  Transport& t = transport();
  if (!t.is_server())
    fail(MX_ERR_INVALID_ARGUMENT, "kvstore server: world rank ", t.rank, " is a worker (", t.num_workers,
         " workers, ", t.num_servers, " servers)");
  Server(t).run();
}

}  // namespace mx::kv
