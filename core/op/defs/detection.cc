// The detection family: box_nms box_iou bipartite_matching MultiBoxPrior MultiBoxTarget MultiBoxDetection,
// under MXNet 1.9.1's internal names (_contrib_*) with its params and defaults. Their outputs are
// piecewise constant in the inputs or selections of them; as in MXNet they pass no gradient.
// Kernels: backends/cpu/kernels/detection.cc.
#include <cstdlib>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

const std::vector<int32_t> kFloats = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};

ParamSpec enum_param(const std::string& name, const std::string& def, std::vector<std::string> choices,
                     const std::string& doc) {
  return {name, ParamType::kEnum, def, false, -1e308, 1e308, std::move(choices), doc};
}

// A tuple of finite numbers given as a string ("(0.1, 0.2)"), as MXNet's Tuple<float>.
std::vector<double> float_tuple(const std::string& op, const Attrs& a, const char* name) {
  const std::string& s = a.str(name);
  std::vector<double> v;
  const char* p = s.c_str();
  while (*p == ' ' || *p == '(' || *p == '[') ++p;
  while (*p && *p != ')' && *p != ']') {
    char* end = nullptr;
    const double d = std::strtod(p, &end);
    if (end == p || !std::isfinite(d))
      fail(MX_ERR_INVALID_ARGUMENT, op, ": attribute '", name, "' is '", s, "', expected a tuple of numbers");
    v.push_back(d);
    p = end;
    while (*p == ' ' || *p == ',') ++p;
  }
  return v;
}

void check_count(const std::string& op, const Attrs& a, const char* name, const std::vector<double>& v, size_t n) {
  if (v.size() != n) fail(MX_ERR_INVALID_ARGUMENT, op, ": attribute '", name, "' is '", a.str(name), "', expected ", n, " numbers");
}

Shape box_batch_shape(const Shape& s) { return Shape(s.begin(), s.end() - 1); }

void register_nms_and_iou(Registry& r) {
  {
    OpSchema s;
    s.name = "_contrib_box_nms";
    s.aliases = {"_contrib_box_non_maximum_suppression"};
    s.doc = "Non-maximum suppression over boxes (..., N, K): valid boxes sorted by score, overlapping lower-scored "
            "ones removed, kept rows first and the rest filled with -1.";
    s.inputs = {"data"};
    s.params = {with_range(param_float("overlap_thresh", "0.5", "IoU above which the lower-scored box is removed"), -1e30, 1e30),
                with_range(param_float("valid_thresh", "0", "boxes need a score above this"), -1e30, 1e30),
                with_range(param_int("topk", "-1", "only the topk highest-scored valid boxes take part (-1: all)"), -1, double(kMaxExtent)),
                with_range(param_int("coord_start", "2", "index of the first of 4 coordinates"), 0, double(kMaxExtent)),
                with_range(param_int("score_index", "1", "index of the score"), 0, double(kMaxExtent)),
                with_range(param_int("id_index", "-1", "index of the class id (-1: none)"), -1, double(kMaxExtent)),
                with_range(param_int("background_id", "-1", "class id ignored as background (with id_index)"), -1e15, 1e15),
                param_bool("force_suppress", "False", "suppress across classes too"),
                enum_param("in_format", "corner", {"corner", "center"}, "box encoding of the input"),
                enum_param("out_format", "corner", {"corner", "center"}, "box encoding of the output")};
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const std::string op = "_contrib_box_nms";
      const Shape& d = a.in_shapes[0];
      if (d.size() < 2) fail(MX_ERR_SHAPE_MISMATCH, op, ": data ", shape_str(d), " must be (..., num_boxes, box_width)");
      const int64_t width = d.back(), cs = a.attrs.i("coord_start"), si = a.attrs.i("score_index"),
                    ii = a.attrs.i("id_index");
      if (cs + 4 > width || si >= width || ii >= width)
        fail(MX_ERR_SHAPE_MISMATCH, op, ": coord_start ", cs, ", score_index ", si, " and id_index ", ii,
             " must index rows of width ", width, " of data ", shape_str(d));
      if ((si >= cs && si < cs + 4) || (ii >= cs && ii < cs + 4) || ii == si)
        fail(MX_ERR_INVALID_ARGUMENT, op, ": score_index ", si, ", id_index ", ii, " and the coordinates from coord_start ",
             cs, " overlap");
      out = {d};
    };
    s.infer_type = first_type;
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "_contrib_box_iou";
    s.doc = "Intersection over union of every box of lhs (..., 4) with every box of rhs (..., 4).";
    s.inputs = {"lhs", "rhs"};
    s.params = {enum_param("format", "corner", {"corner", "center"}, "corner: [xmin, ymin, xmax, ymax]; center: [x, y, w, h]")};
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape &l = a.in_shapes[0], &rr = a.in_shapes[1];
      if (l.size() < 2 || l.back() != 4 || rr.size() < 2 || rr.back() != 4)
        fail(MX_ERR_SHAPE_MISMATCH, "_contrib_box_iou: lhs ", shape_str(l), " and rhs ", shape_str(rr),
             " must both be (..., 4) with at least 2 dims");
      Shape o = box_batch_shape(l);
      const Shape rb = box_batch_shape(rr);
      o.append(rb.begin(), rb.end());
      out = {o};
    };
    s.infer_type = same_dtype;
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "_contrib_bipartite_matching";
    s.doc = "Greedy bipartite matching of a score matrix (..., N, M) in score order: row i's matched column and column "
            "j's matched row, -1 where unmatched.";
    s.inputs = {"data"};
    s.num_outputs = 2;
    s.params = {param_bool("is_ascend", "False", "match the lowest scores first"),
                param_required(with_range(param_float("threshold", "", "scores must be above it (below with is_ascend)"),
                                          -1e30, 1e30)),
                with_range(param_int("topk", "-1", "at most topk matches (-1: no limit)"), -1, double(kMaxExtent))};
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& d = a.in_shapes[0];
      if (d.size() < 2) fail(MX_ERR_SHAPE_MISMATCH, "_contrib_bipartite_matching: data ", shape_str(d), " must be (..., N, M)");
      Shape rows = box_batch_shape(d), cols = rows;
      cols[cols.size() - 1] = d.back();
      out = {rows, cols};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0], a.in_dtypes[0]}; };
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
}

void register_multibox(Registry& r) {
  {
    OpSchema s;
    s.name = "_contrib_MultiBoxPrior";
    s.doc = "Anchor boxes (1, H*W*(num_sizes+num_ratios-1), 4) centred on every cell of NCHW data, in [0, 1] image "
            "coordinates.";
    s.inputs = {"data"};
    s.params = {param_string("sizes", "(1,)", "box sizes relative to the image"),
                param_string("ratios", "(1,)", "aspect ratios (width / height)"),
                param_bool("clip", "False", "clip boxes to [0, 1]"),
                param_string("steps", "(-1,-1)", "cell step (y, x); <= 0: 1 / H and 1 / W"),
                param_string("offsets", "(0.5,0.5)", "anchor centre within a cell (y, x)")};
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const std::string op = "_contrib_MultiBoxPrior";
      const Shape& d = a.in_shapes[0];
      if (d.size() != 4) fail(MX_ERR_SHAPE_MISMATCH, op, ": data ", shape_str(d), " must be 4-d (N, C, H, W)");
      const auto sizes = float_tuple(op, a.attrs, "sizes"), ratios = float_tuple(op, a.attrs, "ratios");
      check_count(op, a.attrs, "steps", float_tuple(op, a.attrs, "steps"), 2);
      check_count(op, a.attrs, "offsets", float_tuple(op, a.attrs, "offsets"), 2);
      if (sizes.empty() || ratios.empty())
        fail(MX_ERR_INVALID_ARGUMENT, op, ": sizes and ratios need at least one entry each");
      for (double v : ratios)
        if (v <= 0) fail(MX_ERR_INVALID_ARGUMENT, op, ": ratios '", a.attrs.str("ratios"), "' must be positive");
      const int64_t per_cell = int64_t(sizes.size() + ratios.size() - 1);
      out = {Shape{1, checked_mul(checked_mul(d[2], d[3], op), per_cell, op), 4}};
    };
    s.infer_type = first_type;
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "_contrib_MultiBoxTarget";
    s.doc = "SSD training targets: anchors matched to labels (bipartite, then by overlap), location targets, their "
            "mask and class targets (0 background, ignore_label for unmined negatives).";
    s.inputs = {"anchor", "label", "cls_pred"};
    s.num_outputs = 3;
    s.params = {with_range(param_float("overlap_threshold", "0.5", "IoU making an anchor positive"), -1e30, 1e30),
                with_range(param_float("ignore_label", "-1", "class target of ignored anchors"), -1e30, 1e30),
                with_range(param_float("negative_mining_ratio", "-1", "negatives per positive (<= 0: every anchor)"), -1e30, 1e30),
                with_range(param_float("negative_mining_thresh", "0.5", "anchors below this IoU may be mined"), -1e30, 1e30),
                with_range(param_int("minimum_negative_samples", "0", "accepted (unused, as MXNet's CPU kernel)"), 0, double(kMaxExtent)),
                param_string("variances", "(0.1,0.1,0.2,0.2)", "scales of the encoded (x, y, w, h)")};
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const std::string op = "_contrib_MultiBoxTarget";
      const Shape &an = a.in_shapes[0], &lb = a.in_shapes[1], &cp = a.in_shapes[2];
      if (an.size() != 3 || an[0] != 1 || an[2] != 4 || lb.size() != 3 || lb[2] < 5 || cp.size() != 3 || cp[0] != lb[0] ||
          cp[2] != an[1] || cp[1] < 1)
        fail(MX_ERR_SHAPE_MISMATCH, op, ": anchor ", shape_str(an), ", label ", shape_str(lb), " and cls_pred ", shape_str(cp),
             " must be (1, A, 4), (B, L, >=5) and (B, classes, A)");
      check_count(op, a.attrs, "variances", float_tuple(op, a.attrs, "variances"), 4);
      out = {Shape{lb[0], an[1] * 4}, Shape{lb[0], an[1] * 4}, Shape{lb[0], an[1]}};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
      same_dtype(a, out);
      out = {out[0], out[0], out[0]};
    };
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "_contrib_MultiBoxDetection";
    s.doc = "SSD detections (B, A, 6) of [class, score, xmin, ymin, xmax, ymax]: decoded boxes above threshold, "
            "sorted by score, per-class NMS (removed rows get class -1).";
    s.inputs = {"cls_prob", "loc_pred", "anchor"};
    s.params = {param_bool("clip", "True", "clip boxes to [0, 1]"),
                with_range(param_float("threshold", "0.01", "lowest score kept"), -1e30, 1e30),
                with_range(param_int("background_id", "0", "the background class"), 0, double(kMaxExtent)),
                with_range(param_float("nms_threshold", "0.5", "IoU at which NMS removes a box (outside (0, 1]: no NMS)"),
                           -1e30, 1e30),
                param_bool("force_suppress", "False", "suppress across classes too"),
                param_string("variances", "(0.1,0.1,0.2,0.2)", "scales of the encoded (x, y, w, h)"),
                with_range(param_int("nms_topk", "-1", "keep the nms_topk best before NMS (-1: all)"), -1, double(kMaxExtent))};
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const std::string op = "_contrib_MultiBoxDetection";
      const Shape &cp = a.in_shapes[0], &lp = a.in_shapes[1], &an = a.in_shapes[2];
      if (cp.size() != 3 || lp.size() != 2 || an.size() != 3 || an[0] != 1 || an[2] != 4 || cp[2] != an[1] ||
          lp[0] != cp[0] || lp[1] != an[1] * 4 || cp[1] < 1)
        fail(MX_ERR_SHAPE_MISMATCH, op, ": cls_prob ", shape_str(cp), ", loc_pred ", shape_str(lp), " and anchor ",
             shape_str(an), " must be (B, classes, A), (B, A*4) and (1, A, 4)");
      if (a.attrs.i("background_id") >= cp[1])
        fail(MX_ERR_INVALID_ARGUMENT, op, ": background_id ", a.attrs.i("background_id"), " is not one of ", cp[1], " classes");
      check_count(op, a.attrs, "variances", float_tuple(op, a.attrs, "variances"), 4);
      out = {Shape{cp[0], cp[2], 6}};
    };
    s.infer_type = same_dtype;
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
}

}  // namespace

void register_detection(Registry& r) {
  register_nms_and_iou(r);
  register_multibox(r);
}

}  // namespace mx::op
