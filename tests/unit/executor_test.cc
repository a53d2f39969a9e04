// The static executor against independent references: the same graphs run through imperative
// autograd (op by op, written out in this test), float64 central finite differences, and
// definitions of BatchNorm's moving statistics; the memory planner against a naive liveness
// check on random graphs; bind / reshape / CachedOp and the C API's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <random>
#include <unordered_map>

#include "base/dtype.h"
#include "base/error.h"
#include "executor/cached_op.h"
#include "executor/executor.h"
#include "executor/plan.h"
#include "ndarray/autograd.h"
#include "ndarray/invoke.h"
#include "plugin/registry.h"
#include "symbol/symbol.h"
#include "test_util.h"

namespace mx {
namespace {

using exec::Executor;
using sym::Symbol;
using Params = std::vector<std::pair<const char*, const char*>>;

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override { plugin::runtime_init(); }
};

Symbol V(const std::string& name) { return Symbol::variable(name); }

Symbol Op(const char* op, Params params, const std::string& name, std::vector<Symbol> inputs) {
  std::vector<const char*> k, v;
  for (auto& [a, b] : params) k.push_back(a), v.push_back(b);
  Symbol s = Symbol::atomic(op, int(k.size()), k.data(), v.data());
  s.compose(name, inputs, {});
  return s;
}

Symbol mlp() {
  Symbol h = Op("FullyConnected", {{"num_hidden", "16"}}, "fc1", {V("data")});
  h = Op("Activation", {{"act_type", "relu"}}, "relu1", {h});
  h = Op("FullyConnected", {{"num_hidden", "10"}}, "fc2", {h});
  return Op("SoftmaxOutput", {}, "softmax", {h, V("softmax_label")});
}

Symbol lenet() {
  Symbol h = Op("Convolution", {{"kernel", "(5,5)"}, {"num_filter", "20"}}, "conv1", {V("data")});
  h = Op("Activation", {{"act_type", "tanh"}}, "tanh1", {h});
  h = Op("Pooling", {{"pool_type", "max"}, {"kernel", "(2,2)"}, {"stride", "(2,2)"}}, "pool1", {h});
  h = Op("Convolution", {{"kernel", "(5,5)"}, {"num_filter", "50"}}, "conv2", {h});
  h = Op("Activation", {{"act_type", "tanh"}}, "tanh2", {h});
  h = Op("Pooling", {{"pool_type", "max"}, {"kernel", "(2,2)"}, {"stride", "(2,2)"}}, "pool2", {h});
  h = Op("Flatten", {}, "flatten", {h});
  h = Op("FullyConnected", {{"num_hidden", "500"}}, "fc1", {h});
  h = Op("Activation", {{"act_type", "tanh"}}, "tanh3", {h});
  h = Op("FullyConnected", {{"num_hidden", "10"}}, "fc2", {h});
  return Op("SoftmaxOutput", {}, "softmax", {h, V("softmax_label")});
}

template <typename T = float>
std::vector<T> host(const NDArray& a) {
  std::vector<T> v(size_t(a.size()));
  a.copy_to_host(v.data(), v.size() * sizeof(T));
  return v;
}

template <typename T = float>
void set(const NDArray& a, const std::vector<T>& v) {
  a.copy_from_host(v.data(), v.size() * sizeof(T));
}

// Random contents: labels get integers in [0, 10), everything else uniform in [-0.5, 0.5).
void randomize(const NDArray& a, const std::string& name, std::mt19937& rng) {
  std::vector<double> v(size_t(a.size()));
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  std::uniform_int_distribution<int> label(0, 9);
  for (auto& x : v) x = name.find("label") != std::string::npos ? label(rng) : u(rng);
  if (a.dtype() == MX_FLOAT64) return set(a, v);
  set(a, std::vector<float>(v.begin(), v.end()));
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rtol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0;
  for (float w : want) scale = std::max(scale, double(std::fabs(w)));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], rtol * std::max(1.0, scale)) << what << " element " << i;
}

// The reference: the same symbol evaluated op by op with imperative autograd.
struct Imperative {
  std::vector<NDArray> outputs;
  std::map<std::string, NDArray> grads;
};

Imperative run_imperative(const Symbol& s, const std::map<std::string, NDArray>& values, const std::vector<NDArray>& head_grads,
                          const std::set<std::string>& want_grad) {
  Imperative r;
  std::map<std::string, NDArray> leaves;
  for (const auto& [name, v] : values) {
    NDArray leaf = v;  // a handle of its own on the tape
    if (want_grad.count(name)) {
      NDArray g(v.shape(), v.dtype(), v.device());
      r.grads[name] = g;
      NDArray* vars[] = {&leaf};
      const int32_t req[] = {autograd::kWrite};
      autograd::mark_variables(vars, req, std::span<const NDArray>(&g, 1));
    }
    leaves[name] = leaf;
  }
  const bool rec = autograd::set_recording(true), train = autograd::set_training(true);
  std::unordered_map<const sym::Node*, std::vector<NDArray>> val;
  for (const auto& n : s.topo_order()) {
    if (n->is_variable()) {
      val[n.get()] = {leaves.at(n->name)};
      continue;
    }
    std::vector<const NDArray*> in;
    for (const auto& e : n->inputs) in.push_back(&val.at(e.node.get()).at(e.index));
    std::vector<NDArray> out;
    invoke(*n->op, n->full_params(), in, out);
    val[n.get()] = out;
  }
  for (const auto& e : s.outputs) r.outputs.push_back(val.at(e.node.get()).at(e.index));
  autograd::set_recording(rec);
  autograd::backward(r.outputs, head_grads, false, false, true);
  autograd::set_training(train);
  return r;
}

// Binds s with random arguments (grad_req write for every argument but data and label), runs
// forward + backward and compares outputs and gradients with the imperative reference.
void compare_with_autograd(const Symbol& s, const std::map<std::string, Shape>& shapes, bool head_grads, uint32_t seed) {
  std::mt19937 rng(seed);
  std::map<std::string, int32_t> reqs;
  for (const auto& name : s.list_arguments())
    reqs[name] = name == "data" || name.find("label") != std::string::npos ? autograd::kNull : autograd::kWrite;
  auto ex = Executor::simple_bind(s, cpu(), shapes, {}, autograd::kWrite, reqs);
  std::map<std::string, NDArray> values;
  const auto names = s.list_arguments();
  for (size_t i = 0; i < names.size(); ++i) {
    randomize(ex->arg_arrays()[i], names[i], rng);
    values[names[i]] = ex->arg_arrays()[i];
  }
  std::vector<NDArray> hg;
  if (head_grads)
    for (const NDArray& o : ex->outputs()) {
      hg.emplace_back(o.shape(), o.dtype(), o.device());
      randomize(hg.back(), "head", rng);
    }
  ex->forward(true);
  ex->backward(hg);
  std::set<std::string> want;
  for (auto& [n, r] : reqs)
    if (r != autograd::kNull) want.insert(n);
  Imperative ref = run_imperative(s, values, hg, want);
  for (size_t i = 0; i < ref.outputs.size(); ++i)
    expect_close(host(ex->outputs()[i]), host(ref.outputs[i]), 1e-5, "output " + std::to_string(i));
  for (size_t i = 0; i < names.size(); ++i) {
    if (!want.count(names[i])) continue;
    expect_close(host(ex->grad_arrays()[i]), host(ref.grads.at(names[i])), 1e-5, "gradient of " + names[i]);
  }
}

TEST_F(ExecutorTest, MlpMatchesImperativeAutograd) { compare_with_autograd(mlp(), {{"data", {8, 20}}}, false, 1); }

TEST_F(ExecutorTest, LeNetMatchesImperativeAutograd) {
  compare_with_autograd(lenet(), {{"data", {4, 1, 28, 28}}}, false, 2);
}

// A value read by several nodes (gradients summed) and two outputs with given head gradients.
TEST_F(ExecutorTest, SharedValuesAndSeveralOutputsMatchAutograd) {
  Symbol a = Op("FullyConnected", {{"num_hidden", "6"}}, "fc", {V("x")});
  Symbol sq = Op("elemwise_mul", {}, "sq", {a, a});
  Symbol t = Op("tanh", {}, "t", {a});
  Symbol sum = Op("elemwise_add", {}, "sum", {sq, t});
  Symbol b = Op("broadcast_mul", {}, "b", {sum, V("scale")});
  Symbol g = Symbol::group({b, Op("sigmoid", {}, "sig", {a})});
  compare_with_autograd(g, {{"x", {5, 7}}, {"scale", {1, 6}}}, true, 3);
}

// float64 gradients against central differences of the executor's own forward.
TEST_F(ExecutorTest, GradientsMatchFiniteDifferences) {
  Symbol h = Op("FullyConnected", {{"num_hidden", "4"}}, "fc", {V("x")});
  h = Op("tanh", {}, "t", {h});
  Symbol out = Op("elemwise_mul", {}, "m", {h, Op("sin", {}, "s", {h})});
  std::map<std::string, int32_t> f64 = {{"x", MX_FLOAT64}, {"fc_weight", MX_FLOAT64}, {"fc_bias", MX_FLOAT64}};
  auto ex = Executor::simple_bind(out, cpu(), {{"x", {3, 5}}}, f64, autograd::kWrite, {});
  std::mt19937 rng(4);
  for (size_t i = 0; i < ex->arg_arrays().size(); ++i) randomize(ex->arg_arrays()[i], "arg", rng);
  NDArray hg(ex->outputs()[0].shape(), MX_FLOAT64, cpu());
  randomize(hg, "head", rng);
  const std::vector<double> w = host<double>(hg);
  ex->forward(true);
  ex->backward(std::span<const NDArray>(&hg, 1));
  auto loss = [&] {
    ex->forward(false);
    const auto y = host<double>(ex->outputs()[0]);
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += y[i] * w[i];
    return l;
  };
  for (size_t a = 0; a < ex->arg_arrays().size(); ++a) {
    const NDArray& arr = ex->arg_arrays()[a];
    const auto g = host<double>(ex->grad_arrays()[a]);
    auto v = host<double>(arr);
    for (size_t i = 0; i < v.size(); ++i) {
      const double keep = v[i], eps = 1e-6;
      v[i] = keep + eps;
      set(arr, v);
      const double up = loss();
      v[i] = keep - eps;
      set(arr, v);
      const double down = loss();
      v[i] = keep;
      set(arr, v);
      EXPECT_NEAR(g[i], (up - down) / (2 * eps), 1e-6) << ex->symbol().list_arguments()[a] << "[" << i << "]";
    }
  }
}

TEST_F(ExecutorTest, GradReqAddAccumulatesAndNullLeavesNoGradient) {
  Symbol s = mlp();
  std::map<std::string, int32_t> reqs = {{"data", autograd::kNull}, {"softmax_label", autograd::kNull},
                                         {"fc1_weight", autograd::kAdd}, {"fc2_weight", autograd::kWrite}};
  auto ex = Executor::simple_bind(s, cpu(), {{"data", {8, 20}}}, {}, autograd::kWrite, reqs);
  std::mt19937 rng(5);
  const auto names = s.list_arguments();
  for (size_t i = 0; i < names.size(); ++i) randomize(ex->arg_arrays()[i], names[i], rng);
  size_t w1 = 0, w2 = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "fc1_weight") w1 = i;
    if (names[i] == "fc2_weight") w2 = i;
    if (names[i] == "data") {
      EXPECT_FALSE(ex->grad_arrays()[i].defined());
    }
  }
  ex->forward(true);
  ex->backward({});
  const auto once1 = host(ex->grad_arrays()[w1]), once2 = host(ex->grad_arrays()[w2]);
  ex->forward(true);
  ex->backward({});
  const auto twice1 = host(ex->grad_arrays()[w1]), twice2 = host(ex->grad_arrays()[w2]);
  std::vector<float> doubled(once1.size());
  for (size_t i = 0; i < once1.size(); ++i) doubled[i] = 2 * once1[i];
  expect_close(twice1, doubled, 1e-6, "fc1_weight (add)");
  expect_close(twice2, once2, 1e-6, "fc2_weight (write)");
}

TEST_F(ExecutorTest, BatchNormMovingStatisticsUpdateOnlyInTraining) {
  Symbol s = Op("BatchNorm", {{"momentum", "0.8"}, {"fix_gamma", "False"}}, "bn", {V("x")});
  ASSERT_EQ(s.list_auxiliary_states(), (std::vector<std::string>{"bn_moving_mean", "bn_moving_var"}));
  auto ex = Executor::simple_bind(s, cpu(), {{"x", {6, 3}}}, {}, autograd::kWrite, {});
  std::mt19937 rng(6);
  const NDArray& x = ex->arg_arrays()[0];
  randomize(x, "x", rng);
  set(ex->arg_arrays()[1], std::vector<float>{1, 1, 1});  // gamma
  set(ex->aux_arrays()[0], std::vector<float>{0.1f, 0.2f, 0.3f});
  set(ex->aux_arrays()[1], std::vector<float>{1, 2, 3});
  ex->forward(false);
  EXPECT_EQ(host(ex->aux_arrays()[0]), (std::vector<float>{0.1f, 0.2f, 0.3f}));
  EXPECT_EQ(host(ex->aux_arrays()[1]), (std::vector<float>{1, 2, 3}));
  ex->forward(true);
  const auto xv = host(x), mm = host(ex->aux_arrays()[0]), mv = host(ex->aux_arrays()[1]);
  for (int c = 0; c < 3; ++c) {
    double mean = 0, var = 0;
    for (int n = 0; n < 6; ++n) mean += xv[size_t(n * 3 + c)] / 6.0;
    for (int n = 0; n < 6; ++n) var += std::pow(xv[size_t(n * 3 + c)] - mean, 2) / 6.0;
    EXPECT_NEAR(mm[size_t(c)], 0.8 * (0.1 * (c + 1)) + 0.2 * mean, 1e-5);
    EXPECT_NEAR(mv[size_t(c)], 0.8 * (c + 1) + 0.2 * var, 1e-4);
  }
}

// Random DAGs: no two entries whose lifetimes overlap share a slot, except an in-place hand-over.
TEST(MemoryPlan, NoLiveEntriesShareASlot) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int n_nodes = 3 + int(rng() % 30);
    std::vector<exec::PlanEntry> entries;
    std::vector<exec::PlanNode> nodes;
    entries.push_back({64, true});  // an argument
    for (int i = 0; i < n_nodes; ++i) {
      exec::PlanNode n;
      const int n_in = 1 + int(rng() % 3);
      for (int k = 0; k < n_in; ++k) n.inputs.push_back(uint32_t(rng() % entries.size()));
      const int n_out = 1 + int(rng() % 2);
      for (int k = 0; k < n_out; ++k) {
        n.outputs.push_back(uint32_t(entries.size()));
        entries.push_back({uint64_t(16 * (1 + rng() % 4)), rng() % 8 == 0});
      }
      if (rng() % 2) n.inplace = {{0, 0}};
      nodes.push_back(n);
    }
    const exec::MemoryPlan p = exec::plan_memory(nodes, entries);
    // Lifetime of an entry: [node that writes it, last node that reads it].
    std::vector<int> born(entries.size(), -1), dies(entries.size(), -1);
    for (int i = 0; i < n_nodes; ++i) {
      for (uint32_t o : nodes[size_t(i)].outputs) born[o] = dies[o] = i;
      for (uint32_t e : nodes[size_t(i)].inputs) dies[e] = std::max(dies[e], i);
    }
    uint64_t unplanned = 0;
    for (size_t a = 1; a < entries.size(); ++a) {
      if (entries[a].external) {
        EXPECT_EQ(p.slot[a], -1);
        continue;
      }
      unplanned += entries[a].bytes;
      ASSERT_GE(p.slot[a], 0);
      EXPECT_GE(p.slot_bytes[size_t(p.slot[a])], entries[a].bytes);
      for (size_t b = a + 1; b < entries.size(); ++b) {
        if (entries[b].external || p.slot[a] != p.slot[b]) continue;
        const bool overlap = born[b] < dies[a] && born[a] < dies[b];
        // sharing at the boundary node is allowed only as an in-place hand-over of a's last read
        const bool handover = born[b] == dies[a];
        EXPECT_TRUE(!overlap || handover) << "trial " << trial << ": entries " << a << " and " << b;
        if (handover) {
          const auto& n = nodes[size_t(born[b])];
          bool declared = false;
          for (auto [i, o] : n.inplace) declared |= n.inputs[i] == a && n.outputs[o] == b;
          bool read_there = false;
          for (uint32_t e : n.inputs) read_there |= e == a;
          EXPECT_TRUE(declared || !read_there) << "trial " << trial << ": " << b << " overwrote input " << a;
        }
      }
    }
    EXPECT_EQ(p.unplanned_bytes, unplanned);
  }
}

TEST_F(ExecutorTest, LeNetTrainingPlanHalvesMemoryAndWorksInPlace) {
  auto ex = Executor::simple_bind(lenet(), cpu(), {{"data", {128, 1, 28, 28}}}, {}, autograd::kWrite,
                                  {{"data", autograd::kNull}, {"softmax_label", autograd::kNull}});
  const exec::MemoryStats st = ex->memory_stats();
  EXPECT_GT(st.unplanned_bytes, 0u);
  EXPECT_LE(st.planned_bytes * 2, st.unplanned_bytes) << st.planned_bytes << " of " << st.unplanned_bytes;
  EXPECT_GT(st.inplace_count, 0u);
  EXPECT_LT(st.num_segments, 20u);  // ~50 ops pushed in a few engine ops
}

TEST_F(ExecutorTest, ReshapeToAnotherBatchMatchesAFreshBind) {
  Symbol s = mlp();
  auto big = Executor::simple_bind(s, cpu(), {{"data", {8, 20}}}, {}, autograd::kWrite, {});
  std::mt19937 rng(8);
  const auto names = s.list_arguments();
  for (size_t i = 0; i < names.size(); ++i) randomize(big->arg_arrays()[i], names[i], rng);
  auto small = big->reshape({{"data", {4, 20}}, {"softmax_label", {4}}}, false);
  ASSERT_EQ(small->arg_arrays()[0].shape(), (Shape{4, 20}));
  EXPECT_EQ(small->arg_arrays()[0].chunk(), big->arg_arrays()[0].chunk());  // shares the storage
  EXPECT_EQ(small->arg_arrays()[1].chunk(), big->arg_arrays()[1].chunk());  // weights unchanged
  auto fresh = Executor::simple_bind(s, cpu(), {{"data", {4, 20}}}, {}, autograd::kWrite, {});
  for (size_t i = 0; i < names.size(); ++i) copy(small->arg_arrays()[i], fresh->arg_arrays()[i]);
  small->forward(true);
  small->backward({});
  fresh->forward(true);
  fresh->backward({});
  expect_close(host(small->outputs()[0]), host(fresh->outputs()[0]), 1e-6, "output");
  expect_close(host(small->grad_arrays()[1]), host(fresh->grad_arrays()[1]), 1e-6, "fc1_weight gradient");
  try {
    big->reshape({{"data", {16, 20}}, {"softmax_label", {16}}}, false);
    FAIL() << "growing without allow_up_sizing";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("argument 'data' grows from (8,20) to (16,20)"), std::string::npos) << e.what();
  }
  auto grown = big->reshape({{"data", {16, 20}}, {"softmax_label", {16}}}, true);
  EXPECT_EQ(grown->outputs()[0].shape(), (Shape{16, 10}));
}

TEST_F(ExecutorTest, CachedOpMatchesTheExecutorWithAndWithoutStaticAllocAndRecords) {
  Symbol s = mlp();
  auto ex = Executor::simple_bind(s, cpu(), {{"data", {8, 20}}}, {}, autograd::kWrite, {});
  std::mt19937 rng(9);
  const auto names = s.list_arguments();
  for (size_t i = 0; i < names.size(); ++i) randomize(ex->arg_arrays()[i], names[i], rng);
  ex->forward(false);
  const auto want = host(ex->outputs()[0]);
  ASSERT_EQ(s.list_inputs(), names);  // no auxiliary states: inputs are the arguments
  std::vector<const NDArray*> in;
  for (const NDArray& a : ex->arg_arrays()) in.push_back(&a);
  for (const char* alloc : {"False", "True"}) {
    exec::CachedOp op(s, {{"static_alloc", alloc}, {"static_shape", alloc}});
    for (int call = 0; call < 2; ++call) expect_close(host(op.call(in)[0]), want, 1e-6, std::string("static_alloc=") + alloc);
  }
  // Recorded: the gradient reaches the inputs through autograd, equal to the executor's.
  ex->forward(true);
  ex->backward({});
  NDArray w = ex->arg_arrays()[1], gw(w.shape(), w.dtype(), cpu());
  NDArray* vars[] = {&w};
  const int32_t req[] = {autograd::kWrite};
  autograd::mark_variables(vars, req, std::span<const NDArray>(&gw, 1));
  in[1] = &w;
  exec::CachedOp op(s, {{"static_alloc", "True"}});
  const bool rec = autograd::set_recording(true), train = autograd::set_training(true);
  auto out = op.call(in);
  autograd::set_recording(rec);
  autograd::backward(out, {}, false, false, true);
  autograd::set_training(train);
  expect_close(host(gw), host(ex->grad_arrays()[1]), 1e-5, "fc1_weight gradient through CachedOp");
}

// ---------------------------------------------------------------- through the C API

std::string last_error() { return mx_get_last_error(); }

TEST_F(ExecutorTest, CApiLegacyJsonLoadsBindsAndRuns) {
  const char* json = R"({
    "nodes": [
      {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},
      {"op": "null", "param": {}, "name": "fc1_weight", "inputs": [], "backward_source_id": -1},
      {"op": "null", "param": {}, "name": "fc1_bias", "inputs": [], "backward_source_id": -1},
      {"op": "FullyConnected", "param": {"no_bias": "False", "num_hidden": "3"}, "name": "fc1",
       "inputs": [[0, 0], [1, 0], [2, 0]], "backward_source_id": -1},
      {"op": "Activation", "param": {"act_type": "relu"}, "name": "relu1", "inputs": [[3, 0]], "backward_source_id": -1},
      {"op": "null", "param": {}, "name": "softmax_label", "inputs": [], "backward_source_id": -1},
      {"op": "SoftmaxOutput", "param": {"grad_scale": "1"}, "name": "softmax", "inputs": [[4, 0], [5, 0]],
       "backward_source_id": -1}
    ],
    "arg_nodes": [0, 1, 2, 5], "heads": [[6, 0]], "attrs": {"mxnet_version": ["int", 904]}})";
  mx_symbol_t sym = nullptr;
  ASSERT_MX_OK(mx_symbol_from_json(json, &sym));
  const char* keys[] = {"data"};
  const uint32_t ndims[] = {2};
  const int64_t dims[] = {2, 4};
  mx_executor_t ex = nullptr;
  ASSERT_MX_OK(mx_executor_simple_bind(sym, MX_DEVICE_CPU, 0, 1, keys, ndims, dims, 0, nullptr, nullptr,
                                       MX_GRAD_WRITE, 0, nullptr, nullptr, &ex));
  uint32_t n = 0;
  mx_ndarray_t* arrs = nullptr;
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_ARGS, &n, &arrs));
  ASSERT_EQ(n, 4u);
  test::Arr data(arrs[0]), w(arrs[1]), b(arrs[2]), label(arrs[3]);
  const std::vector<float> x = {1, -2, 3, 0.5f, -1, 0, 2, 1}, wv = {0.1f, 0.2f, -0.3f, 0.4f, -0.5f, 0.6f,
                                                                   0.7f, -0.8f, 0.9f, 1.0f, -1.1f, 0.2f},
                           bv = {0.1f, -0.2f, 0.3f};
  data.set(x), w.set(wv), b.set(bv), label.set(std::vector<float>{0, 2});
  ASSERT_MX_OK(mx_executor_forward(ex, 0));
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_OUTPUTS, &n, &arrs));
  ASSERT_EQ(n, 1u);
  test::Arr out(arrs[0]);
  const auto y = out.to_vector<float>();
  for (int r = 0; r < 2; ++r) {  // softmax(relu(x W^T + b)) by hand
    double z[3], sum = 0;
    for (int j = 0; j < 3; ++j) {
      double a = bv[size_t(j)];
      for (int k = 0; k < 4; ++k) a += double(x[size_t(r * 4 + k)]) * wv[size_t(j * 4 + k)];
      z[j] = std::exp(std::max(a, 0.0));
      sum += z[j];
    }
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(y[size_t(r * 3 + j)], z[j] / sum, 1e-6);
  }
  ASSERT_MX_OK(mx_executor_backward(ex, 0, nullptr));
  mx_executor_memory_stats st{};
  st.struct_size = sizeof(st);
  ASSERT_MX_OK(mx_executor_memory_stats_get(ex, &st));
  EXPECT_GT(st.unplanned_bytes, 0u);
  EXPECT_GE(st.num_segments, 2u);
  EXPECT_MX_OK(mx_executor_free(ex));
  EXPECT_MX_OK(mx_symbol_free(sym));
}

TEST_F(ExecutorTest, CApiErrorsNameArgumentsNodesAndShapes) {
  mx_symbol_t sym = nullptr;
  Symbol net = mlp();
  ASSERT_MX_OK(mx_symbol_from_json(net.to_json().c_str(), &sym));
  // Wrong argument count.
  mx_executor_t ex = nullptr;
  test::Arr d({8, 20});
  mx_ndarray_t one[] = {d.get()};
  EXPECT_EQ(mx_executor_bind(sym, MX_DEVICE_CPU, 0, 1, one, nullptr, nullptr, 0, nullptr, &ex), -1);
  EXPECT_NE(last_error().find("6 arguments, 1 arrays given"), std::string::npos) << last_error();
  // A weight of the wrong shape: the node, its op and both shapes.
  const char* keys[] = {"data", "fc1_weight"};
  const uint32_t ndims[] = {2, 2};
  const int64_t dims[] = {8, 20, 16, 21};
  EXPECT_EQ(mx_executor_simple_bind(sym, MX_DEVICE_CPU, 0, 2, keys, ndims, dims, 0, nullptr, nullptr, 1, 0, nullptr,
                                    nullptr, &ex),
            -1);
  EXPECT_NE(last_error().find("fc1"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("FullyConnected"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("(16,21)"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("(16,20)"), std::string::npos) << last_error();
  // backward with no gradient requested.
  ASSERT_MX_OK(mx_executor_simple_bind(sym, MX_DEVICE_CPU, 0, 1, keys, ndims, dims, 0, nullptr, nullptr,
                                       MX_GRAD_NULL, 0, nullptr, nullptr, &ex));
  EXPECT_EQ(mx_executor_backward(ex, 0, nullptr), -1);
  EXPECT_NE(last_error().find("grad_req null for every argument"), std::string::npos) << last_error();
  // A head gradient of the wrong shape.
  mx_executor_free(ex);
  ASSERT_MX_OK(mx_executor_simple_bind(sym, MX_DEVICE_CPU, 0, 1, keys, ndims, dims, 0, nullptr, nullptr,
                                       MX_GRAD_WRITE, 0, nullptr, nullptr, &ex));
  test::Arr bad({8, 11});
  mx_ndarray_t hg[] = {bad.get()};
  EXPECT_EQ(mx_executor_backward(ex, 1, hg), -1);
  EXPECT_NE(last_error().find("head gradient 0 is (8,11)"), std::string::npos) << last_error();
  EXPECT_EQ(mx_executor_arrays(ex, 9, nullptr, nullptr), -1);
  mx_executor_free(ex);
  mx_symbol_free(sym);
  // A gradient through an op that has none names the node.
  Symbol am = Op("argmax", {{"axis", "1"}}, "pick_best", {Op("FullyConnected", {{"num_hidden", "4"}}, "fc", {V("x")})});
  try {
    Executor::simple_bind(am, cpu(), {{"x", {2, 3}}}, {}, autograd::kWrite, {});
  } catch (const Error& e) {
    // argmax's gradient is zero (piecewise constant) rather than missing: binding succeeds
    FAIL() << e.what();
  }
  Symbol upd = Op("sgd_update", {{"lr", "0.1"}}, "upd", {V("w"), V("g")});
  try {
    Executor::simple_bind(upd, cpu(), {{"w", {3}}, {"g", {3}}}, {}, autograd::kWrite, {});
    FAIL() << "sgd_update has no gradient";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'upd' (sgd_update) has no gradient"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- monitor

// A chain of elementwise ops the planner runs in place: every intermediate lives in one buffer,
// overwritten by the next node. Each reported value must still be the node's own (computed here
// step by step in double), read after the whole forward has finished.
TEST_F(ExecutorTest, MonitorReportsEachNodesOwnValueThoughItsBufferIsReused) {
  Symbol h = Op("_mul_scalar", {{"scalar", "3"}}, "m1", {V("x")});
  h = Op("_plus_scalar", {{"scalar", "1"}}, "p1", {h});
  h = Op("Activation", {{"act_type", "relu"}}, "r1", {h});
  h = Op("_mul_scalar", {{"scalar", "-2"}}, "m2", {h});
  h = Op("_plus_scalar", {{"scalar", "0.5"}}, "p2", {h});
  auto ex = Executor::simple_bind(h, cpu(), {{"x", {5}}}, {}, autograd::kNull, {});
  ASSERT_GE(ex->memory_stats().inplace_count, 3u) << "the test needs a plan that reuses buffers";
  const std::vector<float> x = {-1.5f, -0.5f, 0.f, 0.5f, 2.f};
  set(ex->arg_arrays()[0], x);
  std::vector<std::pair<std::string, NDArray>> seen;
  ex->set_monitor_callback([&](const std::string& name, const NDArray& v) { seen.emplace_back(name, v); }, false);
  ex->forward(false);
  std::map<std::string, std::vector<float>> want;
  for (float v : x) {
    double a = v * 3.0;
    want["m1_output"].push_back(float(a));
    a += 1;
    want["p1_output"].push_back(float(a));
    a = std::max(a, 0.0);
    want["r1_output"].push_back(float(a));
    a *= -2;
    want["m2_output"].push_back(float(a));
    a += 0.5;
    want["p2_output"].push_back(float(a));
  }
  const std::vector<std::string> order = {"m1_output", "p1_output", "r1_output", "m2_output", "p2_output"};
  ASSERT_EQ(seen.size(), order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(seen[i].first, order[i]);
    expect_close(host(seen[i].second), want.at(order[i]), 1e-6, order[i]);
  }
  // Removed: nothing reported, and the outputs are still right.
  ex->set_monitor_callback(nullptr, false);
  seen.clear();
  set(ex->arg_arrays()[0], std::vector<float>{1, 1, 1, 1, 1});
  ex->forward(false);
  EXPECT_TRUE(seen.empty());
  expect_close(host(ex->outputs()[0]), std::vector<float>(5, -7.5f), 1e-6, "output after removing the monitor");
}

struct Seen {
  std::vector<std::string> names;
  std::vector<test::Arr> values;
};

void collect(const char* name, mx_ndarray_t arr, void* user_data) {
  auto* s = static_cast<Seen*>(user_data);
  s->names.emplace_back(name);
  s->values.emplace_back(arr);  // the callee owns the handle
}

// FC -> relu -> FC through the C API: names in execution order, values against loops written
// here, inputs with monitor_all, gradient nodes during backward, removal and a bad handle.
TEST_F(ExecutorTest, CApiMonitorCallbackSeesEveryNodeWithItsValue) {
  Symbol h = Op("FullyConnected", {{"num_hidden", "3"}}, "fc1", {V("data")});
  h = Op("Activation", {{"act_type", "relu"}}, "relu1", {h});
  h = Op("FullyConnected", {{"num_hidden", "2"}}, "fc2", {h});
  mx_symbol_t sym = nullptr;
  ASSERT_MX_OK(mx_symbol_from_json(h.to_json().c_str(), &sym));
  const char* keys[] = {"data"};
  const uint32_t ndims[] = {2};
  const int64_t dims[] = {2, 4};
  mx_executor_t ex = nullptr;
  ASSERT_MX_OK(mx_executor_simple_bind(sym, MX_DEVICE_CPU, 0, 1, keys, ndims, dims, 0, nullptr, nullptr,
                                       MX_GRAD_WRITE, 0, nullptr, nullptr, &ex));
  uint32_t n = 0;
  mx_ndarray_t* arrs = nullptr;
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_ARGS, &n, &arrs));
  ASSERT_EQ(n, 5u);  // data, fc1_weight, fc1_bias, fc2_weight, fc2_bias
  test::Arr data(arrs[0]), w1(arrs[1]), b1(arrs[2]), w2(arrs[3]), b2(arrs[4]);
  const std::vector<float> x = {1, -2, 3, 0.5f, -1, 0, 2, 1};
  const std::vector<float> w1v = {0.1f, 0.2f, -0.3f, 0.4f, -0.5f, 0.6f, 0.7f, -0.8f, 0.9f, 1.0f, -1.1f, 0.2f};
  const std::vector<float> b1v = {0.1f, -0.2f, 0.3f}, w2v = {0.5f, -1, 2, 1.5f, 0.25f, -0.75f}, b2v = {0.05f, -0.1f};
  data.set(x), w1.set(w1v), b1.set(b1v), w2.set(w2v), b2.set(b2v);
  std::vector<float> fc1(6), relu(6), fc2(4);
  for (int r = 0; r < 2; ++r) {
    for (int j = 0; j < 3; ++j) {
      double a = b1v[size_t(j)];
      for (int k = 0; k < 4; ++k) a += double(x[size_t(r * 4 + k)]) * w1v[size_t(j * 4 + k)];
      fc1[size_t(r * 3 + j)] = float(a);
      relu[size_t(r * 3 + j)] = float(std::max(a, 0.0));
    }
    for (int j = 0; j < 2; ++j) {
      double a = b2v[size_t(j)];
      for (int k = 0; k < 3; ++k) a += double(relu[size_t(r * 3 + k)]) * w2v[size_t(j * 3 + k)];
      fc2[size_t(r * 2 + j)] = float(a);
    }
  }
  Seen seen;
  ASSERT_MX_OK(mx_executor_set_monitor_callback(ex, collect, &seen, 0));
  ASSERT_MX_OK(mx_executor_forward(ex, 1));
  ASSERT_EQ(seen.names, (std::vector<std::string>{"fc1_output", "relu1_output", "fc2_output"}));
  expect_close(seen.values[0].to_vector<float>(), fc1, 1e-6, "fc1_output");
  expect_close(seen.values[1].to_vector<float>(), relu, 1e-6, "relu1_output");
  expect_close(seen.values[2].to_vector<float>(), fc2, 1e-6, "fc2_output");
  // Backward reports the gradient nodes' outputs.
  seen = Seen{};
  ASSERT_MX_OK(mx_executor_backward(ex, 0, nullptr));
  EXPECT_GE(seen.names.size(), 3u);
  for (const auto& name : seen.names) EXPECT_NE(name.find("_output"), std::string::npos) << name;
  // monitor_all: each node's inputs before it, variables also under their own names.
  seen = Seen{};
  ASSERT_MX_OK(mx_executor_set_monitor_callback(ex, collect, &seen, 1));
  ASSERT_MX_OK(mx_executor_forward(ex, 0));
  const std::vector<std::string> all = {"data", "fc1_data", "fc1_weight", "fc1_weight", "fc1_bias", "fc1_bias",
                                        "fc1_output", "relu1_data", "relu1_output", "fc2_data", "fc2_weight",
                                        "fc2_weight", "fc2_bias", "fc2_bias", "fc2_output"};
  ASSERT_EQ(seen.names, all);
  expect_close(seen.values[0].to_vector<float>(), x, 0, "data");
  expect_close(seen.values[7].to_vector<float>(), fc1, 1e-6, "relu1_data");
  expect_close(seen.values[9].to_vector<float>(), relu, 1e-6, "fc2_data");
  expect_close(seen.values[11].to_vector<float>(), w2v, 0, "fc2_weight");
  // NULL removes it.
  seen = Seen{};
  ASSERT_MX_OK(mx_executor_set_monitor_callback(ex, nullptr, nullptr, 0));
  ASSERT_MX_OK(mx_executor_forward(ex, 0));
  EXPECT_TRUE(seen.names.empty());
  EXPECT_MX_OK(mx_executor_free(ex));
  EXPECT_EQ(mx_executor_set_monitor_callback(ex, collect, &seen, 0), -1);
  EXPECT_NE(last_error().find("mx_executor_set_monitor_callback"), std::string::npos) << last_error();
  EXPECT_MX_OK(mx_symbol_free(sym));
}

}  // namespace
}  // namespace mx
