// Symbol <-> MXNet 1.x JSON: nodes (op, name, attrs, inputs as [node, output, version]),
// arg_nodes, node_row_ptr, heads and attrs.mxnet_version. Older files keep op params under
// "param" and attributes under "attr"; both are read. Every malformed input is an error that
// names the node (or the JSON byte offset), never a crash.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

#include "base/error.h"
#include "symbol/symbol.h"

namespace mx::sym {
namespace {

using json = nlohmann::json;

constexpr int kMxnetVersion = 10901;  // the MXNet release whose format this is (1.9.1)

// Appends `s` as a JSON string. ASCII is escaped here; other text goes through nlohmann, which
// rejects invalid UTF-8.
void put_string(std::string& out, const std::string& s, size_t node) {
  if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    try {
      out += json(s).dump();
    } catch (const json::exception&) {
      fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: node ", node, ": a name or attribute is not valid UTF-8");
    }
    return;
  }
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void put_entry(std::string& out, size_t node, uint32_t index) {
  out += '[';
  out += std::to_string(node);
  out += ", ";
  out += std::to_string(index);
  out += ", 0]";
}

}  // namespace

// Written directly in MXNet's layout (a node per block, inputs and index lists on one line):
// a DOM of a million-node graph would cost seconds and gigabytes for nothing.
std::string Symbol::to_json() const {
  const IndexedGraph g(*this);
  const auto& order = g.nodes;
  std::string out = "{\n  \"nodes\": [";
  std::string arg_nodes, row_ptr = "0";
  size_t rows = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const Node& n = *order[i];
    out += i ? ",\n    {\n      \"op\": " : "\n    {\n      \"op\": ";
    put_string(out, n.op ? n.op->name : "null", i);
    out += ",\n      \"name\": ";
    put_string(out, n.name, i);
    if (!n.params.empty() || !n.attrs.empty()) {
      // params and attributes share one map in the file (an attribute never shadows a param:
      // set_attr refuses param names)
      std::map<std::string, const std::string*> all;
      for (const auto& [k, v] : n.params) all.emplace(k, &v);
      for (const auto& [k, v] : n.attrs) all.emplace(k, &v);
      out += ",\n      \"attrs\": {";
      bool first = true;
      for (const auto& [k, v] : all) {
        out += first ? "" : ", ";
        first = false;
        put_string(out, k, i);
        out += ": ";
        put_string(out, *v, i);
      }
      out += '}';
    }
    out += ",\n      \"inputs\": [";
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (k) out += ", ";
      put_entry(out, g.input_node(i, k), n.inputs[k].index);
    }
    out += "]\n    }";
    if (n.is_variable()) {
      if (!arg_nodes.empty()) arg_nodes += ", ";
      arg_nodes += std::to_string(i);
    }
    rows += g.num_outputs(i);
    row_ptr += ", " + std::to_string(rows);
  }
  out += "\n  ],\n  \"arg_nodes\": [" + arg_nodes + "],\n  \"node_row_ptr\": [" + row_ptr + "],\n  \"heads\": [";
  for (size_t k = 0; k < outputs.size(); ++k) {
    if (k) out += ", ";
    put_entry(out, g.position.at(outputs[k].node.get()), outputs[k].index);
  }
  out += "],\n  \"attrs\": {\"mxnet_version\": [\"int\", " + std::to_string(kMxnetVersion) + "]}\n}";
  return out;
}

namespace {

// One element of "nodes" (node i; nodes are the ones before it) as a Node, every field checked.
std::shared_ptr<Node> make_node(const json& jn, size_t i, const std::vector<std::shared_ptr<Node>>& nodes) {
  if (!jn.is_object() || !jn.contains("op") || !jn["op"].is_string() || !jn.contains("name") || !jn["name"].is_string())
    fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: node ", i, ": needs string 'op' and 'name'");
  const std::string& op_name = jn["op"].get_ref<const std::string&>();
  auto n = std::make_shared<Node>();
  n->name = jn["name"].get_ref<const std::string&>();
  // built only for an error: a million-node file passes here a million times
  auto here = [&] { return "symbol JSON: node " + std::to_string(i) + " ('" + n->name + "', op " + op_name + ")"; };
  // attrs, and the older param / attr keys, all as string maps
  std::map<std::string, std::string> all;
  for (const char* key : {"param", "attr", "attrs"}) {
    const auto it = jn.find(key);
    if (it == jn.end()) continue;
    if (!it->is_object()) fail(MX_ERR_INVALID_ARGUMENT, here(), ": '", key, "' must be an object");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) fail(MX_ERR_INVALID_ARGUMENT, here(), ": attribute '", k, "' must be a string");
      all[k] = v.get<std::string>();
    }
  }
  if (op_name != "null") {
    n->op = op::registry().find(op_name);
    if (!n->op) fail(MX_ERR_NOT_FOUND, here(), ": unknown op '", op_name, "'");
    std::vector<const char*> keys, vals;
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
      fail(e.code(), here(), ": ", e.what());
    }
  } else {
    n->attrs = std::move(all);
  }
  const auto jin = jn.find("inputs");
  if (jin == jn.end() || !jin->is_array()) fail(MX_ERR_INVALID_ARGUMENT, here(), ": needs an 'inputs' array");
  for (const json& in : *jin) {
    if (!in.is_array() || in.size() < 2 || !in[0].is_number_unsigned() || !in[1].is_number_unsigned())
      fail(MX_ERR_INVALID_ARGUMENT, here(), ": an input must be [node, output, version]");
    const size_t src = in[0], out = in[1];
    if (src >= i)
      fail(MX_ERR_INVALID_ARGUMENT, here(), ": input node ", src, " does not come before it (", nodes.size(),
           " nodes so far)");
    if (out >= nodes[src]->num_outputs())
      fail(MX_ERR_INVALID_ARGUMENT, here(), ": input ", src, " ('", nodes[src]->name, "') has no output ", out);
    n->inputs.push_back(Entry{nodes[src], uint32_t(out)});
  }
  if (n->op) {
    const size_t want = n->op->num_inputs ? n->op->num_inputs(n->full_params()) : n->op->inputs.size();
    if (n->inputs.size() != want)
      fail(MX_ERR_INVALID_ARGUMENT, here(), ": has ", n->inputs.size(), " inputs, the op takes ", want);
  }
  return n;
}

// The document, less the "nodes" array's elements (made into `nodes` as they were parsed).
Symbol from_doc(const json& doc, const std::vector<std::shared_ptr<Node>>& nodes) {
  if (!doc.is_object() || !doc.contains("nodes") || !doc["nodes"].is_array() || !doc.contains("heads"))
    fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: expected an object with 'nodes' and 'heads'");
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

// Each element of "nodes" becomes a Node as soon as it is parsed and is then dropped from the
// document: a DOM of a million-node file would take gigabytes, and most of the time went to
// building and freeing it.
Symbol Symbol::from_json(const std::string& text) {
  std::vector<std::shared_ptr<Node>> nodes;
  std::string top_key;  // the key of the top-level member being parsed
  bool seen_nodes = false;
  const json::parser_callback_t take_nodes = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      top_key = parsed.get<std::string>();
      if (top_key == "nodes" && std::exchange(seen_nodes, true))
        fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: 'nodes' given twice");
      return true;
    }
    if (depth != 2 || top_key != "nodes") return true;
    if (event == json::parse_event_t::object_end || event == json::parse_event_t::array_end ||
        event == json::parse_event_t::value) {
      nodes.push_back(make_node(parsed, nodes.size(), nodes));
      return false;  // not kept in the document
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(text, take_nodes);
  } catch (const json::parse_error& e) {
    fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: parse error at byte ", e.byte, ": ", e.what());
  } catch (const json::exception& e) {  // e.g. a number out of range (found by fuzz_symbol_json)
    fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: ", e.what());
  }
  try {
    return from_doc(doc, nodes);
  } catch (const json::exception& e) {  // a value of an unexpected type that slipped past the checks
    fail(MX_ERR_INVALID_ARGUMENT, "symbol JSON: ", e.what());
  }
}

}  // namespace mx::sym
