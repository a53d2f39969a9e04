// Symbols through the C API: composition and automatic names, argument / output / auxiliary
// lists, internals and children, attributes, MXNet 1.x JSON (round trip, a hand-written legacy
// file) and the errors of bad construction or bad JSON.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using Names = std::vector<std::string>;

struct Sym {
  mx_symbol_t h = nullptr;
  explicit Sym(mx_symbol_t s = nullptr) : h(s) {}
  Sym(Sym&& o) noexcept : h(o.h) { o.h = nullptr; }
  Sym& operator=(Sym&& o) noexcept {
    std::swap(h, o.h);
    return *this;
  }
  ~Sym() { mx_symbol_free(h); }
};

Sym var(const char* name) {
  mx_symbol_t s = nullptr;
  EXPECT_MX_OK(mx_symbol_create_variable(name, &s));
  return Sym(s);
}

// op(params) composed as `name` with positional inputs.
Sym op(const char* op_name, std::vector<std::pair<const char*, const char*>> params, const char* name,
       std::vector<const Sym*> inputs) {
  std::vector<const char*> k, v;
  for (auto& [key, val] : params) k.push_back(key), v.push_back(val);
  mx_symbol_t s = nullptr;
  EXPECT_EQ(mx_symbol_create_atomic(op_name, uint32_t(k.size()), k.data(), v.data(), &s), 0) << mx_get_last_error();
  std::vector<mx_symbol_t> in;
  for (const Sym* i : inputs) in.push_back(i->h);
  EXPECT_EQ(mx_symbol_compose(s, name, uint32_t(in.size()), nullptr, in.data()), 0) << mx_get_last_error();
  return Sym(s);
}

Names names(int (*fn)(mx_symbol_t, uint32_t*, const char***), const Sym& s) {
  uint32_t n = 0;
  const char** out = nullptr;
  EXPECT_MX_OK(fn(s.h, &n, &out));
  return Names(out, out + n);
}

std::string json_of(const Sym& s) {
  const char* j = nullptr;
  EXPECT_MX_OK(mx_symbol_to_json(s.h, &j));
  return j;
}

Sym mlp() {
  Sym data = var("data");
  Sym fc1 = op("FullyConnected", {{"num_hidden", "16"}}, "fc1", {&data});
  Sym act = op("Activation", {{"act_type", "relu"}}, "relu1", {&fc1});
  Sym fc2 = op("FullyConnected", {{"num_hidden", "10"}}, "fc2", {&act});
  return op("SoftmaxOutput", {}, "softmax", {&fc2});
}

TEST(Symbol, CompositionNamesArgumentsAndOutputs) {
  Sym net = mlp();
  EXPECT_EQ(names(mx_symbol_list_arguments, net),
            (Names{"data", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias", "softmax_label"}));
  EXPECT_EQ(names(mx_symbol_list_outputs, net), Names{"softmax_output"});
  EXPECT_TRUE(names(mx_symbol_list_auxiliary_states, net).empty());

  // automatic names: lower-case op name and a counter
  Sym x = var("x");
  Sym a = op("Activation", {{"act_type", "tanh"}}, nullptr, {&x});
  Sym b = op("Activation", {{"act_type", "tanh"}}, nullptr, {&a});
  const char* na = nullptr;
  const char* nb = nullptr;
  int32_t ok = 0;
  ASSERT_MX_OK(mx_symbol_get_name(a.h, &na, &ok));
  const std::string name_a = na;
  ASSERT_MX_OK(mx_symbol_get_name(b.h, &nb, &ok));
  EXPECT_EQ(name_a.rfind("activation", 0), 0u) << name_a;
  EXPECT_NE(name_a, std::string(nb));

  // BatchNorm's moving statistics are auxiliary states, not arguments
  Sym d = var("d");
  Sym bn = op("BatchNorm", {}, "bn", {&d});
  EXPECT_EQ(names(mx_symbol_list_arguments, bn), (Names{"d", "bn_gamma", "bn_beta"}));
  EXPECT_EQ(names(mx_symbol_list_auxiliary_states, bn), (Names{"bn_moving_mean", "bn_moving_var"}));
  EXPECT_EQ(names(mx_symbol_list_inputs, bn), (Names{"d", "bn_gamma", "bn_beta", "bn_moving_mean", "bn_moving_var"}));
  EXPECT_EQ(names(mx_symbol_list_outputs, bn), Names{"bn_output"});  // mean / var stay hidden

  // several outputs, named inputs, groups
  Sym parts = op("split", {{"num_outputs", "3"}}, "parts", {&d});
  EXPECT_EQ(names(mx_symbol_list_outputs, parts), (Names{"parts_output0", "parts_output1", "parts_output2"}));
  mx_symbol_t grp = nullptr;
  mx_symbol_t members[] = {net.h, bn.h};
  ASSERT_MX_OK(mx_symbol_create_group(2, members, &grp));
  Sym group(grp);
  EXPECT_EQ(names(mx_symbol_list_outputs, group), (Names{"softmax_output", "bn_output"}));
  mx_symbol_t w = nullptr;
  const char* keys[] = {"weight", "data"};
  Sym myw = var("shared_w");
  mx_symbol_t args[] = {myw.h, x.h};
  const char* fk[] = {"num_hidden", "no_bias"};
  const char* fv[] = {"4", "True"};
  ASSERT_MX_OK(mx_symbol_create_atomic("FullyConnected", 2, fk, fv, &w));
  ASSERT_MX_OK(mx_symbol_compose(w, "fcn", 2, keys, args));
  Sym named(w);
  EXPECT_EQ(names(mx_symbol_list_arguments, named), (Names{"x", "shared_w"}));
}

TEST(Symbol, InternalsChildrenAndOutputs) {
  Sym net = mlp();
  mx_symbol_t h = nullptr;
  ASSERT_MX_OK(mx_symbol_get_internals(net.h, &h));
  Sym internals(h);
  const Names all = names(mx_symbol_list_outputs, internals);
  EXPECT_EQ(all, (Names{"data", "fc1_weight", "fc1_bias", "fc1_output", "relu1_output", "fc2_weight", "fc2_bias",
                        "fc2_output", "softmax_label", "softmax_output"}));
  ASSERT_MX_OK(mx_symbol_get_output(internals.h, 3, &h));
  Sym fc1(h);
  EXPECT_EQ(names(mx_symbol_list_arguments, fc1), (Names{"data", "fc1_weight", "fc1_bias"}));
  ASSERT_MX_OK(mx_symbol_get_children(fc1.h, &h));
  Sym kids(h);
  EXPECT_EQ(names(mx_symbol_list_outputs, kids), (Names{"data", "fc1_weight", "fc1_bias"}));
  EXPECT_EQ(mx_symbol_get_output(internals.h, 99, &h), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("99"), std::string::npos);
}

TEST(Symbol, Attributes) {
  Sym w = var("w");
  ASSERT_MX_OK(mx_symbol_set_attr(w.h, "__shape__", "(4, 3)"));
  ASSERT_MX_OK(mx_symbol_set_attr(w.h, "lr_mult", "0.1"));
  const char* v = nullptr;
  int32_t found = 0;
  ASSERT_MX_OK(mx_symbol_get_attr(w.h, "lr_mult", &v, &found));
  EXPECT_EQ(found, 1);
  EXPECT_STREQ(v, "0.1");
  ASSERT_MX_OK(mx_symbol_get_attr(w.h, "wd_mult", &v, &found));
  EXPECT_EQ(found, 0);
  uint32_t n = 0;
  const char** kv = nullptr;
  ASSERT_MX_OK(mx_symbol_list_attr(w.h, &n, &kv));
  ASSERT_EQ(n, 2u);
  EXPECT_STREQ(kv[0], "__shape__");
  EXPECT_STREQ(kv[3], "0.1");
  Sym fc = op("FullyConnected", {{"num_hidden", "5"}}, "fc", {&w});
  ASSERT_MX_OK(mx_symbol_get_attr(fc.h, "num_hidden", &v, &found));  // params are visible too
  EXPECT_STREQ(v, "5");
  EXPECT_EQ(mx_symbol_set_attr(fc.h, "num_hidden", "6"), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("parameter of FullyConnected fc"), std::string::npos)
      << mx_get_last_error();
}

TEST(Symbol, JsonRoundTripIsLossless) {
  Sym net = mlp();
  Sym d = var("d");
  ASSERT_MX_OK(mx_symbol_set_attr(d.h, "__shape__", "(2,3)"));
  Sym bn = op("BatchNorm", {{"fix_gamma", "False"}, {"momentum", "0.8"}}, "bn", {&d});
  ASSERT_MX_OK(mx_symbol_set_attr(bn.h, "__ctx_group__", "dev1"));
  mx_symbol_t grp = nullptr;
  mx_symbol_t members[] = {net.h, bn.h};
  ASSERT_MX_OK(mx_symbol_create_group(2, members, &grp));
  Sym group(grp);
  const std::string j1 = json_of(group);
  mx_symbol_t back = nullptr;
  ASSERT_MX_OK(mx_symbol_from_json(j1.c_str(), &back));
  Sym loaded(back);
  EXPECT_EQ(json_of(loaded), j1);
  EXPECT_EQ(names(mx_symbol_list_arguments, loaded), names(mx_symbol_list_arguments, group));
  EXPECT_EQ(names(mx_symbol_list_auxiliary_states, loaded), (Names{"bn_moving_mean", "bn_moving_var"}));
  EXPECT_NE(j1.find("\"mxnet_version\""), std::string::npos);
  EXPECT_NE(j1.find("\"node_row_ptr\""), std::string::npos);
  EXPECT_NE(j1.find("\"arg_nodes\""), std::string::npos);
}

// A checkpoint as older MXNet wrote it: op params under "param", attributes under "attr".
const char* kLegacy = R"({
  "nodes": [
    {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},
    {"op": "null", "param": {}, "name": "fc1_weight", "attr": {"lr_mult": "2"}, "inputs": [], "backward_source_id": -1},
    {"op": "null", "param": {}, "name": "fc1_bias", "inputs": [], "backward_source_id": -1},
    {"op": "FullyConnected", "param": {"no_bias": "False", "num_hidden": "32"}, "name": "fc1",
     "inputs": [[0, 0], [1, 0], [2, 0]], "backward_source_id": -1},
    {"op": "Activation", "param": {"act_type": "relu"}, "name": "relu1", "inputs": [[3, 0]], "backward_source_id": -1},
    {"op": "null", "param": {}, "name": "softmax_label", "inputs": [], "backward_source_id": -1},
    {"op": "SoftmaxOutput", "param": {"grad_scale": "1", "ignore_label": "-1", "multi_output": "False",
     "normalization": "null", "use_ignore": "False"}, "name": "softmax", "inputs": [[4, 0], [5, 0]],
     "backward_source_id": -1}
  ],
  "arg_nodes": [0, 1, 2, 5],
  "heads": [[6, 0]],
  "attrs": {"mxnet_version": ["int", 904]}
})";

TEST(Symbol, LegacyJsonWithParamAndAttrKeysLoads) {
  mx_symbol_t h = nullptr;
  ASSERT_EQ(mx_symbol_from_json(kLegacy, &h), 0) << mx_get_last_error();
  Sym s(h);
  EXPECT_EQ(names(mx_symbol_list_arguments, s), (Names{"data", "fc1_weight", "fc1_bias", "softmax_label"}));
  EXPECT_EQ(names(mx_symbol_list_outputs, s), Names{"softmax_output"});
  mx_symbol_t internals = nullptr, w = nullptr;
  ASSERT_MX_OK(mx_symbol_get_internals(s.h, &internals));
  Sym in(internals);
  ASSERT_MX_OK(mx_symbol_get_output(in.h, 1, &w));
  Sym weight(w);
  const char* v = nullptr;
  int32_t found = 0;
  ASSERT_MX_OK(mx_symbol_get_attr(weight.h, "lr_mult", &v, &found));
  EXPECT_STREQ(v, "2");
}

TEST(Symbol, ErrorsNameTheNodeAndOp) {
  auto load_error = [](const std::string& j) {
    mx_symbol_t h = nullptr;
    EXPECT_EQ(mx_symbol_from_json(j.c_str(), &h), -1) << j;
    return std::string(mx_get_last_error());
  };
  std::string bad = kLegacy;
  bad.replace(bad.find("\"Activation\""), 12, "\"Actavation\"");
  std::string err = load_error(bad);
  EXPECT_NE(err.find("relu1"), std::string::npos) << err;
  EXPECT_NE(err.find("Actavation"), std::string::npos) << err;
  err = load_error(std::string(kLegacy).substr(0, 200));
  EXPECT_NE(err.find("parse error at byte"), std::string::npos) << err;
  bad = kLegacy;
  bad.replace(bad.find("[[3, 0]]"), 8, "[[9, 0]]");
  err = load_error(bad);
  EXPECT_NE(err.find("relu1"), std::string::npos) << err;
  bad = kLegacy;
  bad.replace(bad.find("\"num_hidden\": \"32\""), 18, "\"num_hidden\": \"-3\"");
  err = load_error(bad);
  EXPECT_NE(err.find("fc1"), std::string::npos) << err;
  EXPECT_NE(err.find("num_hidden"), std::string::npos) << err;
  EXPECT_NE(load_error("[1, 2]").find("nodes"), std::string::npos);
  EXPECT_NE(load_error("").find("parse error"), std::string::npos);

  mx_symbol_t s = nullptr;
  const char* k[] = {"num_hiden"};
  const char* v[] = {"3"};
  EXPECT_EQ(mx_symbol_create_atomic("FullyConnected", 1, k, v, &s), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("num_hiden"), std::string::npos);
  EXPECT_EQ(mx_symbol_create_atomic("NoSuchOp", 0, nullptr, nullptr, &s), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("NoSuchOp"), std::string::npos);
  Sym x = var("x");
  const char* fk[] = {"num_hidden"};
  const char* fv[] = {"3"};
  ASSERT_MX_OK(mx_symbol_create_atomic("FullyConnected", 1, fk, fv, &s));
  Sym fc(s);
  const char* keys[] = {"wieght"};
  mx_symbol_t args[] = {x.h};
  EXPECT_EQ(mx_symbol_compose(fc.h, "fc", 1, keys, args), -1);
  const std::string e = mx_get_last_error();
  EXPECT_NE(e.find("wieght"), std::string::npos) << e;
  EXPECT_NE(e.find("weight"), std::string::npos) << e;
}

}  // namespace

namespace {

struct ShapeResult {
  std::vector<std::vector<int64_t>> args, outs, aux;  // {-1} marks unknown
  int32_t complete = 0;
  int rc = 0;
  std::string error;
};

ShapeResult infer(const Sym& s, std::vector<std::pair<const char*, std::vector<int64_t>>> known, bool partial) {
  std::vector<const char*> keys;
  std::vector<uint32_t> ndims;
  std::vector<int64_t> dims;
  for (auto& [k, d] : known) {
    keys.push_back(k);
    ndims.push_back(uint32_t(d.size()));
    dims.insert(dims.end(), d.begin(), d.end());
  }
  ShapeResult r;
  uint32_t na = 0, no = 0, nx = 0;
  const int32_t *nda = nullptr, *ndo = nullptr, *ndx = nullptr;
  const int64_t* const* da = nullptr;
  const int64_t* const* dout = nullptr;
  const int64_t* const* dx = nullptr;
  r.rc = mx_symbol_infer_shape(s.h, uint32_t(keys.size()), keys.data(), ndims.data(), dims.data(), partial ? 1 : 0, &na,
                               &nda, &da, &no, &ndo, &dout, &nx, &ndx, &dx, &r.complete);
  if (r.rc != 0) {
    r.error = mx_get_last_error();
    return r;
  }
  auto take = [](uint32_t n, const int32_t* nd, const int64_t* const* d) {
    std::vector<std::vector<int64_t>> out;
    for (uint32_t i = 0; i < n; ++i) out.push_back(nd[i] < 0 ? std::vector<int64_t>{-1} : std::vector<int64_t>(d[i], d[i] + nd[i]));
    return out;
  };
  r.args = take(na, nda, da);
  r.outs = take(no, ndo, dout);
  r.aux = take(nx, ndx, dx);
  return r;
}

using Shapes = std::vector<std::vector<int64_t>>;

TEST(SymbolInfer, MlpAndConvNetShapesFromTheDataShape) {
  Sym net = mlp();
  ShapeResult r = infer(net, {{"data", {32, 784}}}, false);
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_EQ(r.complete, 1);
  EXPECT_EQ(r.args, (Shapes{{32, 784}, {16, 784}, {16}, {10, 16}, {10}, {32}}));
  EXPECT_EQ(r.outs, (Shapes{{32, 10}}));

  Sym data = var("data");
  Sym c1 = op("Convolution", {{"kernel", "(5,5)"}, {"num_filter", "20"}}, "conv1", {&data});
  Sym bn = op("BatchNorm", {}, "bn1", {&c1});
  Sym a1 = op("Activation", {{"act_type", "tanh"}}, "tanh1", {&bn});
  Sym p1 = op("Pooling", {{"kernel", "(2,2)"}, {"stride", "(2,2)"}, {"pool_type", "max"}}, "pool1", {&a1});
  Sym f = op("Flatten", {}, "flat", {&p1});
  Sym fc = op("FullyConnected", {{"num_hidden", "10"}}, "fc", {&f});
  Sym out = op("SoftmaxOutput", {}, "softmax", {&fc});
  r = infer(out, {{"data", {8, 1, 28, 28}}}, false);
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_EQ(names(mx_symbol_list_arguments, out),
            (Names{"data", "conv1_weight", "conv1_bias", "bn1_gamma", "bn1_beta", "fc_weight", "fc_bias", "softmax_label"}));
  EXPECT_EQ(r.args, (Shapes{{8, 1, 28, 28}, {20, 1, 5, 5}, {20}, {20}, {20}, {10, 2880}, {10}, {8}}));
  EXPECT_EQ(r.aux, (Shapes{{20}, {20}}));
  EXPECT_EQ(r.outs, (Shapes{{8, 10}}));
}

TEST(SymbolInfer, PartialInferenceReportsUnknownsAndAttributesSeed) {
  Sym net = mlp();
  ShapeResult r = infer(net, {}, true);
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_EQ(r.complete, 0);
  EXPECT_EQ(r.args, (Shapes{{-1}, {-1}, {16}, {-1}, {10}, {-1}}));  // biases follow from num_hidden alone
  EXPECT_EQ(r.outs, (Shapes{{-1}}));
  r = infer(net, {}, false);
  EXPECT_EQ(r.rc, -1);
  EXPECT_NE(r.error.find("data"), std::string::npos) << r.error;

  // a variable's __shape__ attribute counts as given
  Sym x = var("x");
  ASSERT_MX_OK(mx_symbol_set_attr(x.h, "__shape__", "(5, 7)"));
  Sym fc = op("FullyConnected", {{"num_hidden", "3"}}, "fcx", {&x});
  r = infer(fc, {}, false);
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_EQ(r.args, (Shapes{{5, 7}, {3, 7}, {3}}));
}

TEST(SymbolInfer, ContradictionsNameNodeOpAndBothShapes) {
  Sym net = mlp();
  ShapeResult r = infer(net, {{"data", {32, 784}}, {"fc1_weight", {16, 100}}}, false);
  ASSERT_EQ(r.rc, -1);
  EXPECT_NE(r.error.find("fc1"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("FullyConnected"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("(16,100)"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("(16,784)"), std::string::npos) << r.error;
  // same-shape ops reconcile their inputs, and catch a mismatch
  Sym a = var("a"), b = var("b");
  Sym add = op("elemwise_add", {}, "add", {&a, &b});
  r = infer(add, {{"a", {2, 3}}}, false);
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_EQ(r.args, (Shapes{{2, 3}, {2, 3}}));
  r = infer(add, {{"a", {2, 3}}, {"b", {3, 2}}}, false);
  EXPECT_EQ(r.rc, -1);
  EXPECT_NE(r.error.find("add"), std::string::npos) << r.error;
}

// Partial shapes (MXNet 1.x): a 0 dim is unknown per dimension and filled from the graph. The
// expected shapes are worked out by hand from each op's rule.
TEST(SymbolPartialInfer, FullyConnectedWeightWithoutTheBatch) {
  Sym x = var("x");
  ASSERT_MX_OK(mx_symbol_set_attr(x.h, "__shape__", "(0, 10)"));
  Sym fc = op("FullyConnected", {{"num_hidden", "5"}}, "fc", {&x});
  // weight (num_hidden, 10), bias (num_hidden,), out (batch, num_hidden) with the batch unknown
  ShapeResult r = infer(fc, {}, true);
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_EQ(r.complete, 0);
  EXPECT_EQ(r.args, (Shapes{{0, 10}, {5, 10}, {5}}));
  EXPECT_EQ(r.outs, (Shapes{{0, 5}}));
  // the same given by name, and the batch given completes it
  r = infer(fc, {{"x", {0, 10}}}, true);
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_EQ(r.args, (Shapes{{0, 10}, {5, 10}, {5}}));
  r = infer(fc, {{"x", {7, 10}}}, false);
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_EQ(r.complete, 1);
  EXPECT_EQ(r.outs, (Shapes{{7, 5}}));
  // complete inference names what is missing and what is known of it
  r = infer(fc, {}, false);
  ASSERT_EQ(r.rc, -1);
  EXPECT_NE(r.error.find("'x'"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("(0,10)"), std::string::npos) << r.error;
}

TEST(SymbolPartialInfer, ElementwiseInputsCompleteEachOther) {
  Sym a = var("a"), b = var("b");
  Sym add = op("elemwise_add", {}, "add", {&a, &b});
  // a = (0, 3), b = (4, 0): each knows the dim the other lacks, so both are (4, 3)
  ShapeResult r = infer(add, {{"a", {0, 3}}, {"b", {4, 0}}}, false);
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_EQ(r.complete, 1);
  EXPECT_EQ(r.args, (Shapes{{4, 3}, {4, 3}}));
  EXPECT_EQ(r.outs, (Shapes{{4, 3}}));
}

TEST(SymbolPartialInfer, ConflictNamesNodeInputAndBothShapes) {
  Sym a = var("a"), b = var("b");
  Sym add = op("elemwise_add", {}, "add", {&a, &b});
  // a's batch is 2, b's is 3: no shape satisfies both
  ShapeResult r = infer(add, {{"a", {2, 0}}, {"b", {3, 4}}}, true);
  ASSERT_EQ(r.rc, -1);
  EXPECT_NE(r.error.find("'add'"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("elemwise_add"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("'lhs'"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("(2,0)"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("(3,4)"), std::string::npos) << r.error;
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
  // a rank mismatch as well
  r = infer(add, {{"a", {0, 4}}, {"b", {3, 4, 0}}}, true);
  ASSERT_EQ(r.rc, -1);
  EXPECT_NE(r.error.find("(0,4)"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("(3,4,0)"), std::string::npos) << r.error;
}

TEST(SymbolPartialInfer, StateOfUnknownBatchThroughFullyConnectedReluAdd) {
  // out = relu(FC(x, H)) + state, the state (0, H) as an RNN's begin state (a variable's
  // __shape__, or zeros((0, H)) in the graph): its batch comes from x.
  const int64_t H = 4;
  for (bool zeros : {false, true}) {
    Sym x = var("x");
    Sym state = zeros ? op("_zeros", {{"shape", "(0, 4)"}}, "state", {}) : var("state");
    if (!zeros) ASSERT_MX_OK(mx_symbol_set_attr(state.h, "__shape__", "(0, 4)"));
    Sym fc = op("FullyConnected", {{"num_hidden", "4"}}, "fc", {&x});
    Sym act = op("relu", {}, "act", {&fc});
    Sym out = op("elemwise_add", {}, "out", {&act, &state});
    ShapeResult r = infer(out, {{"x", {3, 5}}}, false);
    ASSERT_EQ(r.rc, 0) << r.error;
    EXPECT_EQ(r.complete, 1);
    if (zeros) EXPECT_EQ(r.args, (Shapes{{3, 5}, {H, 5}, {H}}));
    else EXPECT_EQ(r.args, (Shapes{{3, 5}, {H, 5}, {H}, {3, H}}));
    EXPECT_EQ(r.outs, (Shapes{{3, H}}));
    // without x, only what the state and num_hidden tell
    r = infer(out, {}, true);
    ASSERT_EQ(r.rc, 0) << r.error;
    EXPECT_EQ(r.complete, 0);
    EXPECT_EQ(r.outs, (Shapes{{0, H}}));
  }
}

TEST(SymbolPartialInfer, BackwardFlowReachesAFixedPoint) {
  // x (0, 10) -> fc (num_hidden 5) -> + s (3, 5); x also feeds relu. s fixes fc's output batch,
  // which flows back into x (against the graph's order), and from x forward again into relu.
  Sym x = var("x"), s = var("s");
  Sym fc = op("FullyConnected", {{"num_hidden", "5"}}, "fc", {&x});
  Sym add = op("elemwise_add", {}, "add", {&fc, &s});
  Sym act = op("relu", {}, "act", {&x});
  Sym tanh_of_act = op("tanh", {}, "t", {&act});
  mx_symbol_t members[] = {add.h, tanh_of_act.h};
  mx_symbol_t group = nullptr;
  ASSERT_MX_OK(mx_symbol_create_group(2, members, &group));
  Sym g(group);
  ShapeResult r = infer(g, {{"x", {0, 10}}, {"s", {3, 5}}}, false);
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_EQ(r.complete, 1);
  EXPECT_EQ(names(mx_symbol_list_arguments, g), (Names{"x", "fc_weight", "fc_bias", "s"}));
  EXPECT_EQ(r.args, (Shapes{{3, 10}, {5, 10}, {5}, {3, 5}}));
  EXPECT_EQ(r.outs, (Shapes{{3, 5}, {3, 10}}));
  // from the last op back to the first: relu's input from tanh's output
  Sym y = var("y");
  Sym r1 = op("relu", {}, "r1", {&y});
  Sym r2 = op("sigmoid", {}, "r2", {&r1});
  Sym sum = op("elemwise_mul", {}, "mul", {&r2, &s});
  r = infer(sum, {{"s", {3, 5}}}, false);
  ASSERT_EQ(r.rc, 0) << r.error;
  EXPECT_EQ(r.args, (Shapes{{3, 5}, {3, 5}}));
}

TEST(SymbolInfer, TypesFollowTheData) {
  Sym net = mlp();
  const char* keys[] = {"data"};
  const int32_t types[] = {MX_FLOAT64};
  uint32_t na = 0, no = 0, nx = 0;
  const int32_t *ta = nullptr, *to = nullptr, *tx = nullptr;
  int32_t complete = 0;
  ASSERT_MX_OK(mx_symbol_infer_type(net.h, 1, keys, types, 0, &na, &ta, &no, &to, &nx, &tx, &complete));
  EXPECT_EQ(complete, 1);
  EXPECT_EQ(std::vector<int32_t>(ta, ta + na), std::vector<int32_t>(6, MX_FLOAT64));
  EXPECT_EQ(std::vector<int32_t>(to, to + no), std::vector<int32_t>{MX_FLOAT64});
  ASSERT_MX_OK(mx_symbol_infer_type(net.h, 0, nullptr, nullptr, 1, &na, &ta, &no, &to, &nx, &tx, &complete));
  EXPECT_EQ(complete, 0);
  EXPECT_EQ(ta[0], -1);
}

}  // namespace
