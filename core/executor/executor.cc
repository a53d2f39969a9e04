#include "executor/executor.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "base/dtype.h"
#include "base/error.h"
#include "executor/plan.h"
#include "ndarray/autograd.h"
#include "symbol/infer.h"

namespace mx::exec {
namespace {

// Ops per engine push (MXNet's MXNET_EXEC_BULK_EXEC_MAX_NODE_TRAIN); 1 pushes every op alone.
size_t bulk_size() {
  static const size_t n = [] {
    const char* v = std::getenv("MX_EXEC_BULK_SIZE");
    const long x = v ? std::strtol(v, nullptr, 10) : 15;
    return size_t(std::max(1L, x));
  }();
  return n;
}

// No autograd recording inside the executor, and the kernels see the requested training flag.
struct ModeScope {
  bool rec, train;
  explicit ModeScope(bool is_train) : rec(autograd::set_recording(false)), train(autograd::set_training(is_train)) {}
  ~ModeScope() {
    autograd::set_recording(rec);
    autograd::set_training(train);
  }
};

void fill(const NDArray& a, const char* op_name) {
  if (a.size() == 0) return;
  const op::OpSchema& op = op::registry().get(op_name);
  const NDArray* in[] = {&a};
  std::vector<NDArray> out{a};
  ModeScope mode(false);
  invoke(op, op::parse_attrs(op, 0, nullptr, nullptr), in, out);
}

std::string node_desc(const sym::Node& n) { return "node '" + n.name + "' (" + (n.op ? n.op->name : "variable") + ")"; }

// The caller's arrays the executor writes (gradients with grad_req write / add, and auxiliary
// states, which a training forward updates) must share no memory with any other bound array:
// backward would overwrite an argument a later gradient node still reads, or two nodes would
// write the same bytes. Arguments are only read and may share freely. Bind-time only.
void check_bound_aliasing(const std::vector<std::string>& arg_names, const std::vector<std::string>& aux_names,
                          const std::vector<NDArray>& args, const std::vector<NDArray>& grads,
                          const std::vector<int32_t>& reqs, const std::vector<NDArray>& aux) {
  enum Kind { kArg, kGrad, kAux };
  struct Bound {
    const NDArray* a;
    Kind kind;
    size_t i;
  };
  std::vector<Bound> bound;
  for (size_t i = 0; i < args.size(); ++i) bound.push_back({&args[i], kArg, i});
  for (size_t i = 0; i < grads.size(); ++i)
    if (reqs[i] != autograd::kNull) bound.push_back({&grads[i], kGrad, i});
  for (size_t i = 0; i < aux.size(); ++i) bound.push_back({&aux[i], kAux, i});
  auto desc = [&](const Bound& b) {
    return b.kind == kArg    ? "argument '" + arg_names[b.i] + "'"
           : b.kind == kGrad ? "the gradient of argument '" + arg_names[b.i] + "'"
                             : "auxiliary state '" + aux_names[b.i] + "'";
  };
  auto overlap = [&](const Bound& a, const Bound& b) {
    fail(MX_ERR_INVALID_ARGUMENT, "bind: ", desc(a), " overlaps ", desc(b),
         " (they share memory); gradients and auxiliary states need memory of their own");
  };
  // One sweep over the byte ranges sorted by (storage, start), not every pair: a graph may bind
  // a million arrays. Within one storage, a range that starts before the furthest end seen so far
  // overlaps the range that reached that end; only pairs with a written array are errors.
  std::erase_if(bound, [](const Bound& b) { return b.a->nbytes() == 0; });  // empty: overlaps nothing
  std::sort(bound.begin(), bound.end(), [](const Bound& x, const Bound& y) {
    const Chunk *cx = x.a->chunk().get(), *cy = y.a->chunk().get();
    return cx != cy ? std::less<const Chunk*>()(cx, cy) : x.a->byte_offset() < y.a->byte_offset();
  });
  const Bound* furthest = nullptr;          // of every range so far in this storage
  const Bound* furthest_written = nullptr;  // of the written ones
  auto end_of = [](const Bound* b) { return b->a->byte_offset() + b->a->nbytes(); };
  for (const Bound& b : bound) {
    if (furthest && furthest->a->chunk() != b.a->chunk()) furthest = furthest_written = nullptr;
    const uint64_t start = b.a->byte_offset();
    const bool written = b.kind != kArg;
    if (written && furthest && start < end_of(furthest)) overlap(b, *furthest);
    if (!written && furthest_written && start < end_of(furthest_written)) overlap(*furthest_written, b);
    if (!furthest || end_of(&b) > end_of(furthest)) furthest = &b;
    if (written && (!furthest_written || end_of(&b) > end_of(furthest_written))) furthest_written = &b;
  }
}

}  // namespace

struct ExecNode {
  std::shared_ptr<sym::Node> node;  // for the monitor's names (gradient nodes live only here)
  const op::OpSchema* op = nullptr;
  op::Attrs attrs;
  std::vector<NDArray> in, out;
  std::shared_ptr<PreparedCall> call;  // null: run through invoke (16-bit promotion)
  bool skip = false;                   // an empty output: nothing to compute
};

struct Segment {
  std::shared_ptr<const std::vector<std::shared_ptr<PreparedCall>>> calls;
  std::vector<engine::Var*> reads, writes;
  bool has_random = false;
  size_t invoke_node = SIZE_MAX;  // a node run through invoke instead
  const char* name = nullptr;     // the op's name, or "segment" for several (static storage)
};

struct Executor::Impl {
  std::vector<ExecNode> nodes;
  std::vector<Segment> forward, backward;
  std::vector<NDArray> slots;       // planned buffers
  std::vector<NDArray> head_grads;  // one per output
  bool head_grads_are_ones = true;
  bool has_backward = false;
  size_t num_forward = 0;  // nodes [0, num_forward) are the forward pass

  MonitorCallback monitor;        // empty: not monitoring
  bool monitor_all = false;
  std::vector<Segment> per_node;  // one segment per node, made when a monitor is first set

  void push(const Segment& seg, bool is_train) {
    if (seg.invoke_node != SIZE_MAX) {
      ExecNode& n = nodes[seg.invoke_node];
      std::vector<const NDArray*> in;
      for (const NDArray& a : n.in) in.push_back(&a);
      std::vector<NDArray> out = n.out;
      ModeScope mode(is_train);
      invoke(*n.op, n.attrs, in, out);
      return;
    }
    std::vector<resource::RngDraw> draws;
    if (seg.has_random)
      for (const auto& c : *seg.calls) draws.push_back(draw_random(*c));
    engine::PushOptions opts;
    opts.name = seg.name;
    engine::get().push(
        [calls = seg.calls, draws = std::move(draws), is_train](engine::RunContext& ctx) {
          static const resource::RngDraw none{};
          for (size_t i = 0; i < calls->size(); ++i)
            run_prepared(*(*calls)[i], ctx, draws.empty() ? none : draws[i], is_train);
        },
        dev, seg.reads, seg.writes, opts);
  }
  Device dev;

  // Groups nodes [begin, end) into segments.
  std::vector<Segment> segment(size_t begin, size_t end) {
    std::vector<Segment> out;
    Segment cur;
    std::vector<std::shared_ptr<PreparedCall>> calls;
    auto close = [&] {
      if (calls.empty()) return;
      cur.calls = std::make_shared<const std::vector<std::shared_ptr<PreparedCall>>>(std::move(calls));
      out.push_back(std::move(cur));
      cur = Segment{};
      calls.clear();
    };
    for (size_t i = begin; i < end; ++i) {
      ExecNode& n = nodes[i];
      if (n.skip) continue;
      if (!n.call) {
        close();
        Segment s;
        s.invoke_node = i;
        out.push_back(std::move(s));
        continue;
      }
      if (calls.size() >= bulk_size()) close();
      cur.name = calls.empty() ? n.op->name.c_str() : "segment";
      calls.push_back(n.call);
      cur.has_random |= bool(n.op->random_blocks);
      // An input an earlier node of the segment wrote is made inside it, not read from outside: as
      // a read too it would be a read-write, whose error (from a failed run) stops the segment.
      for (const NDArray& a : n.in)
        if (std::find(cur.writes.begin(), cur.writes.end(), a.var()) == cur.writes.end()) cur.reads.push_back(a.var());
      for (const NDArray& a : n.out) cur.writes.push_back(a.var());
      for (size_t m : n.op->mutated_inputs)  // a variadic op lists them for its largest call
        if (m < n.in.size()) cur.writes.push_back(n.in[m].var());
    }
    close();
    return out;
  }

  // Monitored run of nodes [begin, end): one node per push, each reported value copied before
  // any later node can overwrite its buffer (the engine orders the copy's read first).
  void run_monitored(size_t begin, size_t end, bool is_train) {
    // A copy: the callback may replace or clear this executor's monitor while it runs.
    const MonitorCallback cb = monitor;
    const bool all = monitor_all;
    if (per_node.size() != nodes.size()) {
      per_node.clear();
      for (size_t i = 0; i < nodes.size(); ++i) {
        auto one = segment(i, i + 1);
        per_node.push_back(one.empty() ? Segment{} : std::move(one.front()));
      }
    }
    for (size_t i = begin; i < end; ++i) {
      const ExecNode& n = nodes[i];
      if (all) {
        std::vector<std::string> in_names = sym::input_names(*n.op, n.attrs);
        if (in_names.size() != n.in.size()) in_names.clear();  // e.g. a gradient node: arg<k>
        for (size_t k = 0; k < n.in.size(); ++k) {
          const sym::Node& from = *n.node->inputs[k].node;
          if (from.is_variable()) report(cb, from.name, n.in[k]);
          report(cb, n.node->name + "_" + (k < in_names.size() ? in_names[k] : "arg" + std::to_string(k)), n.in[k]);
        }
      }
      if (!n.skip) push(per_node[i], is_train);
      const auto names = sym::output_names(*n.node);
      for (size_t k = 0; k < names.size() && k < n.out.size(); ++k) report(cb, names[k], n.out[k]);
    }
  }
  static void report(const MonitorCallback& cb, const std::string& name, const NDArray& a) {
    NDArray value(a.shape(), a.dtype(), a.device());
    if (a.size() > 0) copy(a, value);
    cb(name, value);
  }
};

Executor::~Executor() = default;

std::unique_ptr<Executor> Executor::bind(const sym::Symbol& s, Device dev, std::vector<NDArray> args,
                                         std::vector<NDArray> grads, std::vector<int32_t> reqs, std::vector<NDArray> aux,
                                         const Executor* share_with) {
  return bind_graph(s, sym::IndexedGraph(s), dev, std::move(args), std::move(grads), std::move(reqs), std::move(aux),
                    share_with);
}

std::unique_ptr<Executor> Executor::bind_graph(const sym::Symbol& s, const sym::IndexedGraph& fg, Device dev,
                                               std::vector<NDArray> args, std::vector<NDArray> grads,
                                               std::vector<int32_t> reqs, std::vector<NDArray> aux,
                                               const Executor* share_with) {
  std::vector<std::string> arg_names, aux_names;
  for (const sym::Node* n : fg.inputs.arguments) arg_names.push_back(n->name);
  for (const sym::Node* n : fg.inputs.aux) aux_names.push_back(n->name);
  if (args.size() != arg_names.size())
    fail(MX_ERR_INVALID_ARGUMENT, "bind: the symbol has ", arg_names.size(), " arguments, ", args.size(), " arrays given");
  if (aux.size() != aux_names.size())
    fail(MX_ERR_INVALID_ARGUMENT, "bind: the symbol has ", aux_names.size(), " auxiliary states, ", aux.size(),
         " arrays given");
  if (grads.empty()) grads.resize(args.size());
  if (reqs.empty()) reqs.assign(args.size(), autograd::kNull);
  if (grads.size() != args.size() || reqs.size() != args.size())
    fail(MX_ERR_INVALID_ARGUMENT, "bind: ", args.size(), " arguments but ", grads.size(), " gradient arrays and ",
         reqs.size(), " grad_reqs");

  std::map<std::string, Shape> shapes;
  std::map<std::string, int32_t> dtypes;
  auto check_array = [&](const NDArray& a, const std::string& what, const std::string& name) {
    if (!a.defined()) fail(MX_ERR_INVALID_ARGUMENT, "bind: no array for ", what, " '", name, "'");
    if (!(a.device() == dev))
      fail(MX_ERR_INVALID_ARGUMENT, "bind: ", what, " '", name, "' is on ", a.device().str(), ", the executor on ",
           dev.str());
  };
  for (size_t i = 0; i < args.size(); ++i) {
    check_array(args[i], "argument", arg_names[i]);
    shapes[arg_names[i]] = args[i].shape();
    dtypes[arg_names[i]] = args[i].dtype();
    if (reqs[i] != autograd::kNull && reqs[i] != autograd::kWrite && reqs[i] != autograd::kAdd)
      fail(MX_ERR_INVALID_ARGUMENT, "bind: grad_req ", reqs[i], " of argument '", arg_names[i],
           "' is not null (0), write (1) or add (3)");
    if (reqs[i] == autograd::kNull) continue;
    check_array(grads[i], "gradient of argument", arg_names[i]);
    if (grads[i].shape() != args[i].shape() || grads[i].dtype() != args[i].dtype())
      fail(MX_ERR_SHAPE_MISMATCH, "bind: gradient of argument '", arg_names[i], "' is ", shape_str(grads[i].shape()), " ",
           dtype_info(grads[i].dtype()).name, " but the argument is ", shape_str(args[i].shape()), " ",
           dtype_info(args[i].dtype()).name);
  }
  for (size_t i = 0; i < aux.size(); ++i) {
    check_array(aux[i], "auxiliary state", aux_names[i]);
    shapes[aux_names[i]] = aux[i].shape();
    dtypes[aux_names[i]] = aux[i].dtype();
  }

  check_bound_aliasing(arg_names, aux_names, args, grads, reqs, aux);

  auto ex = std::unique_ptr<Executor>(new Executor());
  ex->symbol_ = s;
  ex->dev_ = dev;
  ex->args_ = args;
  ex->grads_ = grads;
  ex->aux_ = aux;
  ex->reqs_ = reqs;
  for (size_t i = 0; i < reqs.size(); ++i)
    if (reqs[i] == autograd::kNull) ex->grads_[i] = NDArray();
  ex->impl_ = std::make_unique<Impl>();
  Impl& im = *ex->impl_;
  im.dev = dev;

  // Inference on the forward graph (checks the given arrays against each other), the gradient
  // pass, then inference again on the whole graph for the gradient nodes' entries.
  const auto fwd_shapes = sym::infer_shapes(fg, shapes, false);
  const bool any_grad = std::any_of(reqs.begin(), reqs.end(), [](int32_t r) { return r != autograd::kNull; });
  GradientGraph gg;
  if (any_grad) {
    gg = build_gradient(s, reqs, fg, fwd_shapes);
  } else {
    gg.full = s;
    gg.num_forward_outputs = s.outputs.size();
    for (size_t i = 0; i < s.outputs.size(); ++i) gg.head_grad_names.push_back("__head_grad_" + std::to_string(i));
    gg.grad_output.assign(args.size(), -1);
  }
  im.has_backward = any_grad;
  for (size_t i = 0; i < s.outputs.size(); ++i) {
    shapes[gg.head_grad_names[i]] = *fwd_shapes.outputs[i];
  }
  std::unordered_map<std::string, size_t> arg_index, aux_index;
  for (size_t i = 0; i < arg_names.size(); ++i) arg_index[arg_names[i]] = i;
  for (size_t i = 0; i < aux_names.size(); ++i) aux_index[aux_names[i]] = i;
  for (const auto& [arg, acc] : gg.accumulate_names) {
    shapes[acc] = args[arg_index.at(arg)].shape();
    dtypes[acc] = args[arg_index.at(arg)].dtype();
  }
  // Without gradients the whole graph is the forward one, whose shapes are known already.
  std::optional<sym::IndexedGraph> full_storage;
  std::optional<sym::Inferred<Shape>> full_shapes_storage;
  const sym::IndexedGraph& full = any_grad ? full_storage.emplace(gg.full) : fg;
  const auto& full_shapes = any_grad ? full_shapes_storage.emplace(sym::infer_shapes(full, shapes, true)) : fwd_shapes;
  const auto full_types = sym::infer_types(full, dtypes, true);
  const auto& order = full.nodes;
  const std::vector<uint32_t>& first_entry = full.first_entry;

  // Flat entry ids, and what each entry is bound to. Every byte count is checked here, once, so
  // planning and allocation below may multiply freely.
  std::vector<Shape> entry_shape(full_shapes.entries.size());
  std::vector<int32_t> entry_dtype(full_shapes.entries.size());
  for (size_t i = 0; i < order.size(); ++i) {
    for (uint32_t k = 0; k < full.num_outputs(i); ++k) {
      const uint32_t id = first_entry[i] + k;
      const auto& sh = full_shapes.entries[id];
      if (!sh) fail(MX_ERR_SHAPE_MISMATCH, "bind: cannot infer the shape of ", node_desc(*order[i]), " output ", k);
      entry_dtype[id] = full_types.entries[id].value_or(MX_FLOAT32);
      const uint64_t elem_bytes = uint64_t(dtype_info(entry_dtype[id]).bytes);
      if (!shape_ok(*sh, elem_bytes))
        check_shape(*sh, "bind: " + node_desc(*order[i]) + " output " + std::to_string(k), elem_bytes);
      entry_shape[id] = *sh;
    }
  }
  auto entry_id = [&](const sym::Entry& e) { return full.entry_id(e); };
  std::vector<NDArray> bound(entry_shape.size());
  std::unordered_map<std::string, size_t> head_index;
  for (size_t i = 0; i < gg.head_grad_names.size(); ++i) head_index[gg.head_grad_names[i]] = i;
  std::unordered_map<std::string, std::string> acc_arg;
  for (const auto& [arg, acc] : gg.accumulate_names) acc_arg[acc] = arg;
  for (size_t i = 0; i < s.outputs.size(); ++i) {
    im.head_grads.emplace_back(*fwd_shapes.outputs[i], entry_dtype[entry_id(s.outputs[i])], dev);
    fill(im.head_grads.back(), "ones_like");
  }
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& n = order[i];
    if (!n->is_variable()) continue;
    const uint32_t id = first_entry[i];
    if (auto it = arg_index.find(n->name); it != arg_index.end()) bound[id] = args[it->second];
    else if (auto it2 = aux_index.find(n->name); it2 != aux_index.end()) bound[id] = aux[it2->second];
    else if (auto it3 = head_index.find(n->name); it3 != head_index.end()) bound[id] = im.head_grads[it3->second];
    else if (auto it4 = acc_arg.find(n->name); it4 != acc_arg.end()) bound[id] = grads[arg_index.at(it4->second)];
    else fail(MX_ERR_INTERNAL, "bind: variable '", n->name, "' is bound to nothing");
  }
  // Outputs the executor owns, and gradients written into the caller's arrays.
  uint64_t external_bytes = 0;
  for (size_t i = 0; i < gg.num_forward_outputs; ++i) {
    const uint32_t id = entry_id(gg.full.outputs[i]);
    if (!bound[id].defined()) {
      bound[id] = NDArray(entry_shape[id], entry_dtype[id], dev);
      external_bytes += bound[id].nbytes();
    }
    ex->outputs_.push_back(bound[id]);
  }
  for (auto& h : im.head_grads) external_bytes += h.nbytes();
  for (size_t i = 0; i < args.size(); ++i)
    if (gg.grad_output[i] >= 0) bound[entry_id(gg.full.outputs[size_t(gg.grad_output[i])])] = grads[i];

  // Memory plan over the op nodes in execution order.
  std::vector<PlanEntry> pe(entry_shape.size());
  for (size_t e = 0; e < pe.size(); ++e) {
    pe[e].bytes = uint64_t(shape_size(entry_shape[e])) * uint64_t(dtype_info(entry_dtype[e]).bytes);
    pe[e].external = bound[e].defined();
  }
  std::vector<PlanNode> pn;
  std::vector<size_t> op_nodes;  // positions in order
  size_t num_forward = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& n = order[i];
    if (n->is_variable()) continue;
    PlanNode p;
    for (size_t k = 0; k < n->inputs.size(); ++k) p.inputs.push_back(full.input_entry(i, k));
    for (uint32_t id = first_entry[i]; id < first_entry[i + 1]; ++id) p.outputs.push_back(id);
    p.inplace = n->op->inplace;
    pn.push_back(std::move(p));
    op_nodes.push_back(i);
    if (fg.position.contains(n.get())) {
      if (num_forward != op_nodes.size() - 1)
        fail(MX_ERR_INTERNAL, "bind: forward ", node_desc(*n), " comes after a gradient node");
      ++num_forward;
    }
  }
  const MemoryPlan plan = plan_memory(pn, pe);

  // Buffers: reuse the shared executor's where they fit (reshape), else new ones.
  std::multimap<uint64_t, const NDArray*> pool;  // by size: the smallest that fits is a lookup
  if (share_with)
    for (const NDArray& a : share_with->impl_->slots) pool.emplace(a.nbytes(), &a);
  for (uint64_t bytes : plan.slot_bytes) {
    const uint64_t want = std::max<uint64_t>(bytes, 1);
    if (auto best = pool.lower_bound(want); best != pool.end()) {
      im.slots.push_back(*best->second);
      pool.erase(best);
    } else {
      im.slots.emplace_back(Shape{int64_t(want)}, MX_UINT8, dev);
    }
  }
  for (size_t e = 0; e < bound.size(); ++e)
    if (!bound[e].defined()) bound[e] = NDArray(entry_shape[e], entry_dtype[e], im.slots.at(size_t(plan.slot[e])).chunk(), 0);

  // Kernel calls, prepared once.
  im.nodes.reserve(op_nodes.size());
  std::vector<int32_t> in_dtypes;    // reused: a million-node graph passes here a million times
  std::vector<const NDArray*> in;
  for (size_t i : op_nodes) {
    const sym::Node* n = order[i].get();
    ExecNode x;
    x.node = order[i];
    x.op = n->op;
    x.attrs = n->full_params();
    x.in.reserve(n->inputs.size());
    for (size_t k = 0; k < n->inputs.size(); ++k) x.in.push_back(bound[full.input_entry(i, k)]);
    x.out.assign(bound.begin() + first_entry[i], bound.begin() + first_entry[i + 1]);
    for (const NDArray& o : x.out) x.skip |= o.size() == 0;
    bool promote = false;
    in_dtypes.clear();
    for (const NDArray& a : x.in) in_dtypes.push_back(a.dtype());
    try {
      promote = needs_promotion(*n->op, in_dtypes);
    } catch (const Error& e) {
      fail(e.code(), "bind: ", node_desc(*n), ": ", e.what());
    }
    if (!x.skip && !promote) {
      in.clear();
      for (const NDArray& a : x.in) in.push_back(&a);
      try {
        x.call = prepare_call(*n->op, x.attrs, in, x.out);
      } catch (const Error& e) {
        fail(e.code(), "bind: ", node_desc(*n), ": ", e.what());
      }
    }
    im.nodes.push_back(std::move(x));
  }
  im.num_forward = num_forward;
  im.forward = im.segment(0, num_forward);
  im.backward = im.segment(num_forward, im.nodes.size());

  ex->stats_.planned_bytes = plan.planned_bytes;
  ex->stats_.unplanned_bytes = plan.unplanned_bytes;
  ex->stats_.external_bytes = external_bytes;
  ex->stats_.inplace_count = plan.inplace_count;
  ex->stats_.num_buffers = uint32_t(plan.slot_bytes.size());
  ex->stats_.num_segments = uint32_t(im.forward.size() + im.backward.size());
  return ex;
}

std::unique_ptr<Executor> Executor::simple_bind(const sym::Symbol& s, Device dev,
                                                const std::map<std::string, Shape>& shapes,
                                                const std::map<std::string, int32_t>& dtypes, int32_t default_req,
                                                const std::map<std::string, int32_t>& reqs) {
  const sym::IndexedGraph g(s);
  const auto sh = sym::infer_shapes(g, shapes, false);
  const auto ty = sym::infer_types(g, dtypes, true);
  std::vector<std::string> arg_names, aux_names;
  for (const sym::Node* n : g.inputs.arguments) arg_names.push_back(n->name);
  for (const sym::Node* n : g.inputs.aux) aux_names.push_back(n->name);
  if (!reqs.empty()) {
    const std::set<std::string> is_arg(arg_names.begin(), arg_names.end());
    for (const auto& [name, r] : reqs)
      if (!is_arg.count(name))
        fail(MX_ERR_INVALID_ARGUMENT, "simple_bind: grad_req given for '", name, "', which is not an argument");
  }
  // The arrays' byte counts (inference checked the element counts).
  auto checked = [](const Shape& shape, int32_t dtype, const char* what, const std::string& name) -> const Shape& {
    const uint64_t elem_bytes = uint64_t(dtype_info(dtype).bytes);
    if (!shape_ok(shape, elem_bytes)) check_shape(shape, "simple_bind: " + (what + (" '" + name + "'")), elem_bytes);
    return shape;
  };
  std::vector<NDArray> args, grads, aux;
  std::vector<int32_t> rq;
  for (size_t i = 0; i < arg_names.size(); ++i) {
    const int32_t dt = ty.arguments[i].value_or(MX_FLOAT32);
    args.emplace_back(checked(*sh.arguments[i], dt, "argument", arg_names[i]), dt, dev);
    fill(args.back(), "zeros_like");
    auto r = reqs.find(arg_names[i]);
    rq.push_back(r == reqs.end() ? default_req : r->second);
    if (rq.back() != autograd::kNull) {
      grads.emplace_back(*sh.arguments[i], dt, dev);
      fill(grads.back(), "zeros_like");
    } else {
      grads.emplace_back();
    }
  }
  for (size_t i = 0; i < aux_names.size(); ++i) {
    const int32_t dt = ty.aux[i].value_or(MX_FLOAT32);
    aux.emplace_back(checked(*sh.aux[i], dt, "auxiliary state", aux_names[i]), dt, dev);
    fill(aux.back(), "zeros_like");
  }
  return bind_graph(s, g, dev, std::move(args), std::move(grads), std::move(rq), std::move(aux), nullptr);
}

void Executor::forward(bool is_train) {
  ModeScope mode(is_train);
  if (impl_->monitor) return impl_->run_monitored(0, impl_->num_forward, is_train);
  for (const Segment& seg : impl_->forward) impl_->push(seg, is_train);
}

void Executor::set_monitor_callback(MonitorCallback cb, bool monitor_all) {
  impl_->monitor = std::move(cb);
  impl_->monitor_all = monitor_all;
}

void Executor::backward(std::span<const NDArray> head_grads) {
  Impl& im = *impl_;
  if (!im.has_backward)
    fail(MX_ERR_INVALID_ARGUMENT, "backward: the executor was bound with grad_req null for every argument");
  if (!head_grads.empty() && head_grads.size() != outputs_.size())
    fail(MX_ERR_INVALID_ARGUMENT, "backward: ", outputs_.size(), " outputs but ", head_grads.size(),
         " head gradients");
  bool any = false;
  for (const NDArray& h : head_grads) any |= h.defined();
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const NDArray& h = i < head_grads.size() ? head_grads[i] : NDArray();
    if (h.defined() && (h.shape() != im.head_grads[i].shape() || h.dtype() != im.head_grads[i].dtype()))
      fail(MX_ERR_SHAPE_MISMATCH, "backward: head gradient ", i, " is ", shape_str(h.shape()), " ",
           dtype_info(h.dtype()).name, " but output ", i, " is ", shape_str(im.head_grads[i].shape()), " ",
           dtype_info(im.head_grads[i].dtype()).name);
  }
  if (any) {
    for (size_t i = 0; i < outputs_.size(); ++i) {
      if (head_grads[i].defined()) copy(head_grads[i], im.head_grads[i]);
      else fill(im.head_grads[i], "ones_like");
    }
    im.head_grads_are_ones = false;
  } else if (!im.head_grads_are_ones) {
    for (auto& h : im.head_grads) fill(h, "ones_like");
    im.head_grads_are_ones = true;
  }
  ModeScope mode(true);
  if (im.monitor) return im.run_monitored(im.num_forward, im.nodes.size(), true);
  for (const Segment& seg : im.backward) im.push(seg, true);
}

std::unique_ptr<Executor> Executor::reshape(const std::map<std::string, Shape>& new_shapes, bool allow_up_sizing) const {
  // Given shapes first; what they do not decide keeps its old shape.
  std::map<std::string, Shape> known = new_shapes;
  const sym::IndexedGraph g(symbol_);
  const auto partial = sym::infer_shapes(g, known, true);
  std::vector<std::string> arg_names, aux_names;
  for (const sym::Node* n : g.inputs.arguments) arg_names.push_back(n->name);
  for (const sym::Node* n : g.inputs.aux) aux_names.push_back(n->name);
  for (size_t i = 0; i < arg_names.size(); ++i)
    if (!partial.arguments[i]) known[arg_names[i]] = args_[i].shape();
  for (size_t i = 0; i < aux_names.size(); ++i)
    if (!partial.aux[i]) known[aux_names[i]] = aux_[i].shape();
  const auto sh = sym::infer_shapes(g, known, false);
  auto resize = [&](const NDArray& old, const Shape& shape, const std::string& what) -> NDArray {
    if (!old.defined() || old.shape() == shape) return old;
    const uint64_t elem_bytes = uint64_t(dtype_info(old.dtype()).bytes);
    if (!shape_ok(shape, elem_bytes)) check_shape(shape, "reshape: " + what, elem_bytes);
    const uint64_t want = uint64_t(shape_size(shape)) * elem_bytes;
    if (want <= old.chunk()->bytes - old.byte_offset()) return NDArray(shape, old.dtype(), old.chunk(), old.byte_offset());
    if (!allow_up_sizing)
      fail(MX_ERR_INVALID_ARGUMENT, "reshape: ", what, " grows from ", shape_str(old.shape()), " to ", shape_str(shape),
           "; pass allow_up_sizing to allocate it anew");
    NDArray fresh(shape, old.dtype(), old.device());
    fill(fresh, "zeros_like");
    return fresh;
  };
  std::vector<NDArray> args, grads, aux;
  for (size_t i = 0; i < arg_names.size(); ++i) {
    args.push_back(resize(args_[i], *sh.arguments[i], "argument '" + arg_names[i] + "'"));
    grads.push_back(resize(grads_[i], *sh.arguments[i], "gradient of '" + arg_names[i] + "'"));
  }
  for (size_t i = 0; i < aux_names.size(); ++i)
    aux.push_back(resize(aux_[i], *sh.aux[i], "auxiliary state '" + aux_names[i] + "'"));
  return bind_graph(symbol_, g, dev_, std::move(args), std::move(grads), reqs_, std::move(aux), this);
}

}  // namespace mx::exec
