// Symbol <-> MXNet 1.x JSON: nodes (op, name, attrs, inputs as [node, output, version]),
// arg_nodes, node_row_ptr, heads and attrs.mxnet_version. Older files keep op params under
// "param" and attributes under "attr"; both are read. Every malformed input is an error that
// names the node (or the JSON byte offset), never a crash.
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "base/error.h"
#include "symbol/symbol.h"

namespace mx::sym {
namespace {

using json = nlohmann::json;

constexpr int kMxnetVersion = 10901;  // the MXNet release whose format this is (1.9.1)

}  // namespace

std::string Symbol::to_json() const {
  const auto order = topo_order();
  std::unordered_map<const Node*, size_t> id;
  json nodes = json::array(), arg_nodes = json::array(), row_ptr = json::array({0}), heads = json::array();
  size_t rows = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const Node& n = *order[i];
    id[&n] = i;
    json node = {{"op", n.op ? n.op->name : "null"}, {"name", n.name}};
    json attrs = json::object();
    for (const auto& [k, v] : n.params) attrs[k] = v;
    for (const auto& [k, v] : n.attrs) attrs[k] = v;
    if (!attrs.empty()) node["attrs"] = attrs;
    json inputs = json::array();
    for (const Entry& e : n.inputs) inputs.push_back({id.at(e.node.get()), e.index, 0});
    node["inputs"] = inputs;
    nodes.push_back(node);
    if (n.is_variable()) arg_nodes.push_back(i);
    rows += n.num_outputs();
    row_ptr.push_back(rows);
  }
  for (const Entry& e : outputs) heads.push_back({id.at(e.node.get()), e.index, 0});
  json doc = {{"nodes", nodes},
              {"arg_nodes", arg_nodes},
              {"node_row_ptr", row_ptr},
              {"heads", heads},
              {"attrs", {{"mxnet_version", {"int", kMxnetVersion}}}}};
  return doc.dump(2);
}

namespace {
Symbol from_doc(const json& doc);
}

Symbol Symbol::from_json(const std::string& text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: parse error at byte ", e.byte, ": ", e.what());
  } catch (const json::exception& e) {  // e.g. a number out of range (found by fuzz_symbol_json)
    fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: ", e.what());
  }
  try {
    return from_doc(doc);
  } catch (const json::exception& e) {  // a value of an unexpected type that slipped past the checks
    fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: ", e.what());
  }
}

namespace {

Symbol from_doc(const json& doc) {
  if (!doc.is_object() || !doc.contains("nodes") || !doc["nodes"].is_array() || !doc.contains("heads"))
    fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: expected an object with 'nodes' and 'heads'");
  const json& jnodes = doc["nodes"];
  std::vector<std::shared_ptr<Node>> nodes;
  for (size_t i = 0; i < jnodes.size(); ++i) {
    const json& jn = jnodes[i];
    const std::string where = "symbol JSON: node " + std::to_string(i);
    if (!jn.is_object() || !jn.contains("op") || !jn["op"].is_string() || !jn.contains("name") || !jn["name"].is_string())
      fail(MX_ERR_INVALID_ARGUMENT, where, ": needs string 'op' and 'name'");
    const std::string op_name = jn["op"], name = jn["name"];
    const std::string here = where + " ('" + name + "', op " + op_name + ")";
    auto n = std::make_shared<Node>();
    n->name = name;
    // attrs, and the older param / attr keys, all as string maps
    std::map<std::string, std::string> all;
    for (const char* key : {"param", "attr", "attrs"}) {
      if (!jn.contains(key)) continue;
      if (!jn[key].is_object()) fail(MX_ERR_INVALID_ARGUMENT, here, ": '", key, "' must be an object");
      for (const auto& [k, v] : jn[key].items()) {
        if (!v.is_string()) fail(MX_ERR_INVALID_ARGUMENT, here, ": attribute '", k, "' must be a string");
        all[k] = v.get<std::string>();
      }
    }
    if (op_name != "null") {
      n->op = op::registry().find(op_name);
      if (!n->op) fail(MX_ERR_NOT_FOUND, here, ": unknown op '", op_name, "'");
      std::vector<const char*> keys, vals;
      std::vector<std::string> kept;
      for (const auto& [k, v] : all) {
        const std::string& key = k;  // (clang 14 cannot capture a structured binding)
        const bool is_param = std::any_of(n->op->params.begin(), n->op->params.end(),
                                          [&](const op::ParamSpec& p) { return p.name == key; });
        if (is_param) {
          keys.push_back(k.c_str());
          vals.push_back(v.c_str());
        } else {
          n->attrs[k] = v;  // lr_mult, __ctx_group__, ...
        }
      }
      try {
        const op::Attrs full = op::parse_attrs(*n->op, int(keys.size()), keys.data(), vals.data());
        for (const char* k : keys) n->params.emplace_back(k, full.str(k));
      } catch (const Error& e) {
        fail(e.code(), here, ": ", e.what());
      }
    } else {
      n->attrs = all;
    }
    if (!jn.contains("inputs") || !jn["inputs"].is_array()) fail(MX_ERR_INVALID_ARGUMENT, here, ": needs an 'inputs' array");
    for (const json& in : jn["inputs"]) {
      if (!in.is_array() || in.size() < 2 || !in[0].is_number_unsigned() || !in[1].is_number_unsigned())
        fail(MX_ERR_INVALID_ARGUMENT, here, ": an input must be [node, output, version]");
      const size_t src = in[0], out = in[1];
      if (src >= i)
        fail(MX_ERR_INVALID_ARGUMENT, here, ": input node ", src, " does not come before it (", nodes.size(),
             " nodes so far)");
      if (out >= nodes[src]->num_outputs())
        fail(MX_ERR_INVALID_ARGUMENT, here, ": input ", src, " ('", nodes[src]->name, "') has no output ", out);
      n->inputs.push_back(Entry{nodes[src], uint32_t(out)});
    }
    if (n->op) {
      const size_t want = n->op->num_inputs ? n->op->num_inputs(n->full_params()) : n->op->inputs.size();
      if (n->inputs.size() != want)
        fail(MX_ERR_INVALID_ARGUMENT, here, ": has ", n->inputs.size(), " inputs, the op takes ", want);
    }
    nodes.push_back(n);
  }
  Symbol s;
  if (!doc["heads"].is_array()) fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: 'heads' must be an array");
  for (const json& h : doc["heads"]) {
    if (!h.is_array() || h.size() < 2 || !h[0].is_number_unsigned() || !h[1].is_number_unsigned() || h[0] >= nodes.size())
      fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: a head must be [node, output, version] of an existing node");
    const size_t src = h[0], out = h[1];
    if (out >= nodes[src]->num_outputs())
      fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: head node ", src, " ('", nodes[src]->name, "') has no output ", out);
    s.outputs.push_back(Entry{nodes[src], uint32_t(out)});
  }
  if (s.outputs.empty()) fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: no heads");
  return s;
}

}  // namespace

}  // namespace mx::sym
