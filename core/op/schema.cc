#include "op/schema.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "base/device.h"
#include "base/dtype.h"
#include "base/error.h"

namespace mx::op {

// ---------------------------------------------------------------- Attrs

const std::string& Attrs::str(const std::string& name) const {
  for (auto& [k, v] : kv)
    if (k == name) return v;
  fail(MX_ERR_INTERNAL, "attribute '", name, "' is not part of the op's schema");
}

double Attrs::f(const std::string& name) const { return std::strtod(str(name).c_str(), nullptr); }
int64_t Attrs::i(const std::string& name) const { return std::strtoll(str(name).c_str(), nullptr, 10); }
bool Attrs::b(const std::string& name) const { return str(name) == "True"; }
Shape Attrs::shape(const std::string& name) const { return parse_shape(str(name), name); }
std::vector<std::optional<int64_t>> Attrs::opt_ints(const std::string& name) const {
  std::vector<std::optional<int64_t>> v;
  const std::string& s = str(name);
  size_t i = 1;  // canonical "(a,None,b)" or "()"
  while (i + 1 < s.size()) {
    const size_t j = s.find(',', i);
    const std::string tok = s.substr(i, j == std::string::npos ? s.size() - 1 - i : j - i);
    if (tok == "None") v.emplace_back(std::nullopt);
    else v.emplace_back(std::strtoll(tok.c_str(), nullptr, 10));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return v;
}
int32_t Attrs::dtype(const std::string& name) const {
  const std::string& v = str(name);
  return v == "None" ? -1 : dtype_from_name(v);
}

// ---------------------------------------------------------------- parsing

namespace {

std::string canonical_float(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string trimmed(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// An int64 with the spellings MXNet's parser takes (surrounding spaces, a '+'), with its full range
// checked: strtoll would saturate "99999999999999999999" to 2^63-1 and let it pass.
enum class IntParse { kOk, kBad, kOutOfRange };
IntParse parse_int(const std::string& raw, int64_t& v) {
  const std::string t = trimmed(raw);
  const char* first = t.data();
  const char* last = t.data() + t.size();
  if (first != last && *first == '+' && last - first > 1 && first[1] != '-') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec == std::errc::result_out_of_range && ptr == last) return IntParse::kOutOfRange;
  if (ec != std::errc() || ptr != last || first == last) return IntParse::kBad;
  return IntParse::kOk;
}

std::string normalise(const std::string& owner, const ParamSpec& p, const std::string& raw) {
  auto bad = [&](const std::string& why) -> std::string {
    fail(MX_ERR_INVALID_ARGUMENT, owner, ": invalid value '", raw, "' for attribute '", p.name, "': ", why);
  };
  auto in_range = [&](double v) {
    if (v < p.min || v > p.max)
      bad(str_cat("must be in [", canonical_float(p.min), ", ", canonical_float(p.max), "]"));
  };
  switch (p.type) {
    case ParamType::kInt: {
      int64_t v = 0;
      const IntParse r = parse_int(raw, v);
      if (r == IntParse::kBad) bad("expected an integer");
      if (r == IntParse::kOutOfRange) bad("out of the range of a 64-bit integer");
      in_range(double(v));
      return std::to_string(v);
    }
    case ParamType::kFloat: {
      const std::string text = trimmed(raw);
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0') bad("expected a number");
      // Only params declared over the whole line [-inf, inf] (values, bounds) take inf and NaN:
      // an infinite learning rate or a NaN momentum is a mistake to report, not a value to use.
      const bool any_value = p.min == -HUGE_VAL && p.max == HUGE_VAL;
      if (!any_value && std::isnan(v)) bad("NaN is not allowed");
      if (!any_value && std::isinf(v)) bad("must be finite");
      in_range(v);
      return canonical_float(v);
    }
    case ParamType::kBool:
      if (raw == "1" || raw == "True" || raw == "true") return "True";
      if (raw == "0" || raw == "False" || raw == "false") return "False";
      return bad("expected True or False");
    case ParamType::kShape: {
      Shape s = parse_shape(raw, str_cat(owner, ": attribute '", p.name, "'"));
      const double lowest = p.min > -1e307 ? p.min : 0;  // Reshape admits its special codes
      for (int64_t d : s)
        if (double(d) < lowest || double(d) > p.max) {
          if (lowest < 0) bad("dimension code out of range");
          if (lowest == 0 && p.max >= 1e308) bad("dimensions must be non-negative");
          bad(str_cat("entries must be in [", canonical_float(lowest), ", ", canonical_float(p.max), "]"));
        }
      return shape_str(s);
    }
    case ParamType::kDType:
      if (raw == "None") return raw;
      return dtype_info(dtype_from_name(raw)).name;
    case ParamType::kDevice:
      if (raw.empty() || raw == "None") return "";
      return Device::parse(raw).str();
    case ParamType::kAxes: {
      if (raw == "None" || raw.empty()) return "None";
      Shape s = parse_shape(raw, str_cat(owner, ": attribute '", p.name, "'"));
      return shape_str(s);
    }
    case ParamType::kOptInts: {
      // "(1, None, -2)", "[1,None]", "1", "None" -> "(1,None,-2)"
      std::string body = raw, out = "(";
      while (!body.empty() && (body.front() == '(' || body.front() == '[' || body.front() == ' ')) body.erase(0, 1);
      while (!body.empty() && (body.back() == ')' || body.back() == ']' || body.back() == ' ' || body.back() == ',')) body.pop_back();
      size_t i = 0;
      while (!body.empty() && i <= body.size()) {
        size_t j = body.find(',', i);
        if (j == std::string::npos) j = body.size();
        std::string tok = body.substr(i, j - i);
        while (!tok.empty() && tok.front() == ' ') tok.erase(0, 1);
        while (!tok.empty() && tok.back() == ' ') tok.pop_back();
        if (tok == "None") {
          out += "None,";
        } else {
          int64_t v = 0;
          const IntParse r = parse_int(tok, v);
          if (r == IntParse::kBad) bad("expected a tuple of integers or None");
          if (r == IntParse::kOutOfRange) bad("an entry is out of the range of a 64-bit integer");
          out += std::to_string(v) + ",";
        }
        i = j + 1;
      }
      if (out.size() > 1) out.pop_back();
      return out + ")";
    }
    case ParamType::kString:
      return raw;
    case ParamType::kEnum:
      if (std::find(p.choices.begin(), p.choices.end(), raw) == p.choices.end()) {
        std::string list;
        for (auto& c : p.choices) list += (list.empty() ? "" : ", ") + c;
        bad("expected one of {" + list + "}");
      }
      return raw;
  }
  return raw;
}

}  // namespace

void bad_inferred_shape(const InferArgs& a, const std::vector<Shape>& out, size_t i) {
  check_shape(a.symbolic ? known_dims(out[i]) : out[i], str_cat(a.op.name, ": output ", i));
  fail(MX_ERR_INTERNAL, a.op.name, ": output ", i, " shape ", shape_str(out[i]), " failed a size check");
}

bool is_generic_attr(const std::string& key) {
  if (key.size() > 4 && key.rfind("__", 0) == 0 && key.compare(key.size() - 2, 2, "__") == 0) return true;
  return key == "lr_mult" || key == "wd_mult" || key == "ctx_group" || key == "force_mirroring";
}

Attrs parse_attrs(const OpSchema& op, int n, const char* const* keys, const char* const* vals) {
  return parse_params(op.name, op.params, n, keys, vals);
}

Attrs parse_params(const std::string& owner, const std::vector<ParamSpec>& params, int n, const char* const* keys,
                   const char* const* vals) {
  Attrs out;
  out.kv.reserve(params.size());
  for (const auto& p : params) out.kv.emplace_back(p.name, p.default_value);
  std::vector<bool> given(params.size(), false);
  for (int i = 0; i < n; ++i) {
    if (!keys || !keys[i] || !vals || !vals[i]) fail(MX_ERR_INVALID_ARGUMENT, owner, ": attribute ", i, " is NULL");
    const std::string key = keys[i];
    auto it = std::find_if(params.begin(), params.end(), [&](const ParamSpec& p) { return p.name == key; });
    if (it == params.end() && is_generic_attr(key)) continue;
    if (it == params.end()) {
      std::string list;
      for (auto& p : params) list += (list.empty() ? "" : ", ") + p.name;
      fail(MX_ERR_INVALID_ARGUMENT, owner, ": unknown attribute '", key, "' (valid: ",
           list.empty() ? "none" : list, ")");
    }
    const size_t idx = size_t(it - params.begin());
    out.kv[idx].second = normalise(owner, *it, vals[i]);
    given[idx] = true;
  }
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].required && !given[i])
      fail(MX_ERR_INVALID_ARGUMENT, owner, ": required attribute '", params[i].name, "' is missing (",
           params[i].doc, ")");
  return out;
}

// ---------------------------------------------------------------- registry

const OpSchema* Registry::lookup(const Index& index, const std::string& name) {
  auto pos = std::lower_bound(index.begin(), index.end(), name,
                              [](const auto& e, const std::string& k) { return e.first < k; });
  return pos != index.end() && pos->first == name ? pos->second : nullptr;
}

void Registry::insert(Index& index, const std::string& name, const OpSchema* op) {
  auto pos = std::lower_bound(index.begin(), index.end(), name,
                              [](const auto& e, const std::string& k) { return e.first < k; });
  index.insert(pos, {name, op});
}

void Registry::add(OpSchema schema) {
  auto owned = std::make_unique<OpSchema>(std::move(schema));
  const OpSchema* p = owned.get();
  std::vector<std::string> all = p->aliases;
  all.push_back(p->name);
  for (auto& n : all) {
    if (find(n)) fail(MX_ERR_INTERNAL, "op name '", n, "' registered twice");
    insert(index_, n, p);
  }
  ops_.push_back(std::move(owned));
}

void Registry::add_runtime(std::vector<OpSchema> schemas) const {
  Runtime& rt = *runtime_;
  std::lock_guard<std::mutex> lk(rt.mu);
  std::vector<std::string> batch;
  for (const OpSchema& s : schemas) {
    std::vector<std::string> all = s.aliases;
    all.push_back(s.name);
    for (const std::string& n : all) {
      if (n.empty()) fail(MX_ERR_INVALID_ARGUMENT, "an op needs a name");
      if (const OpSchema* taken = lookup(index_, n); taken)
        fail(MX_ERR_INVALID_ARGUMENT, "op '", n, "' (", s.kernel_owner, ") clashes with the built-in op ", taken->name);
      if (const OpSchema* taken = lookup(rt.index, n); taken)
        fail(MX_ERR_INVALID_ARGUMENT, "op '", n, "' (", s.kernel_owner, ") clashes with op ", taken->name,
             " registered earlier by ", taken->kernel_owner);
      if (std::find(batch.begin(), batch.end(), n) != batch.end())
        fail(MX_ERR_INVALID_ARGUMENT, "op '", n, "' (", s.kernel_owner, ") is defined twice");
      batch.push_back(n);
    }
  }
  for (OpSchema& s : schemas) {
    auto owned = std::make_unique<OpSchema>(std::move(s));
    insert(rt.index, owned->name, owned.get());
    for (auto& a : owned->aliases) insert(rt.index, a, owned.get());
    rt.ops.push_back(std::move(owned));
  }
  rt.any.store(true, std::memory_order_release);
}

const OpSchema* Registry::find(const std::string& name) const {
  if (const OpSchema* p = lookup(index_, name)) return p;
  if (!runtime_->any.load(std::memory_order_acquire)) return nullptr;
  std::lock_guard<std::mutex> lk(runtime_->mu);
  return lookup(runtime_->index, name);
}

const OpSchema& Registry::get(const std::string& name) const {
  if (const OpSchema* p = find(name)) return *p;
  fail(MX_ERR_NOT_FOUND, "unknown op '", name, "' (mx_op_list lists the registered ones)");
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (auto& e : index_) out.push_back(e.first);
  std::lock_guard<std::mutex> lk(runtime_->mu);
  for (auto& e : runtime_->index) out.push_back(e.first);
  std::sort(out.begin(), out.end());
  return out;
}

// ---------------------------------------------------------------- helpers

ParamSpec param_shape(const std::string& name, const std::string& def, const std::string& doc) {
  return {name, ParamType::kShape, def, false, -1e308, 1e308, {}, doc};
}
ParamSpec param_dtype(const std::string& name, const std::string& def, const std::string& doc) {
  return {name, ParamType::kDType, def, false, -1e308, 1e308, {}, doc};
}
ParamSpec param_device(const std::string& doc) { return {"ctx", ParamType::kDevice, "", false, -1e308, 1e308, {}, doc}; }
ParamSpec param_float(const std::string& name, const std::string& def, const std::string& doc) {
  return {name, ParamType::kFloat, def, false, -1e308, 1e308, {}, doc};
}
ParamSpec param_bool(const std::string& name, const std::string& def, const std::string& doc) {
  return {name, ParamType::kBool, def, false, -1e308, 1e308, {}, doc};
}
std::string float_str(double v) { return canonical_float(v); }

std::vector<GradValue> no_gradient(const GradArgs& a) { return std::vector<GradValue>(a.inputs.size(), kNoGrad); }

ParamSpec param_axes(const std::string& name, const std::string& def, const std::string& doc) {
  return {name, ParamType::kAxes, def, false, -1e308, 1e308, {}, doc};
}
ParamSpec param_string(const std::string& name, const std::string& def, const std::string& doc) {
  return {name, ParamType::kString, def, false, -1e308, 1e308, {}, doc};
}
ParamSpec param_opt_ints(const std::string& name, const std::string& def, const std::string& doc) {
  return {name, ParamType::kOptInts, def, false, -1e308, 1e308, {}, doc};
}
ParamSpec param_int(const std::string& name, const std::string& def, const std::string& doc) {
  return {name, ParamType::kInt, def, false, -1e308, 1e308, {}, doc};
}

ParamSpec param_required(ParamSpec p) {
  p.required = true;
  return p;
}

}  // namespace mx::op
