"""Every operator name of issue 16 (MXNet 1.9.1's mx.nd / mx.sym breadth) exists where MXNet places
it: in mx.nd and mx.sym, and under random / linalg / contrib as MXNet's namespaces have them."""
import pytest

import mx

CREATION = "ones zeros full arange linspace eye diag ones_like zeros_like".split()
CREATION_ND_ONLY = ["empty", "from_numpy"]
MATH = ("tan arcsin arccos arctan sinh cosh arcsinh arccosh arctanh log10 log2 cbrt rcbrt erfinv gamma gammaln "
        "degrees radians rint fix trunc hypot logical_not hard_sigmoid softmin smooth_l1 nanprod all_finite "
        "multi_all_finite amp_cast amp_multicast log_sigmoid mish argmax_channel").split()
FUNCTIONAL_ND = ("add subtract multiply divide modulo power pow maximum minimum equal not_equal greater lesser "
                 "logical_and logical_or logical_xor").split()
FUNCTIONAL_SYM = "pow power maximum minimum hypot".split()
SHAPE = ("moveaxis SwapAxis reshape_like flip reverse depth_to_space space_to_depth broadcast_to broadcast_axis "
         "split_v2 ravel_multi_index unravel_index shape_array size_array concatenate batch_take "
         "choose_element_0index fill_element_0index onehot_encode pick histogram moments im2col col2im").split()
SHAPE_ND_ONLY = {"concatenate", "onehot_encode", "moveaxis"}  # NDArray-only helpers in MXNet
NN = ("RNN UpSampling Pad InstanceNorm GroupNorm L2Normalization LRN SoftmaxActivation LinearRegressionOutput "
      "LogisticRegressionOutput MAERegressionOutput SVMOutput make_loss MakeLoss ctc_loss CTCLoss SequenceLast "
      "SequenceMask SequenceReverse SpatialTransformer GridGenerator BilinearSampler ROIPooling Correlation "
      "BatchNorm_v1").split()
OPTIMIZERS = ("signsgd_update signum_update nag_mom_update ftml_update ftrl_update rmspropalex_update adagrad_update "
              "lamb_update_phase1 lamb_update_phase2 mp_sgd_update mp_sgd_mom_update mp_nag_mom_update").split()
RANDOM = ("uniform normal gamma exponential poisson negative_binomial generalized_negative_binomial randint "
          "multinomial shuffle").split()
RANDOM_PDF = ("pdf_uniform pdf_normal pdf_gamma pdf_exponential pdf_poisson pdf_negative_binomial "
              "pdf_generalized_negative_binomial pdf_dirichlet").split()
RANDOM_FLAT = ("random_uniform random_normal random_gamma random_exponential random_poisson random_negative_binomial "
               "random_generalized_negative_binomial random_randint sample_uniform sample_normal sample_gamma "
               "sample_exponential sample_poisson sample_negative_binomial sample_generalized_negative_binomial "
               "sample_multinomial").split()
LINALG = ("gemm gemm2 potrf potri trsm trmm sumlogdiag syrk gelqf syevd inverse det slogdet extractdiag makediag "
          "extracttrian maketrian").split()
CONTRIB = ("isinf isnan isfinite boolean_mask index_copy index_array arange_like div_sqrt_dim quadratic foreach "
           "while_loop cond BilinearResize2D ROIAlign box_nms box_iou bipartite_matching MultiBoxPrior "
           "MultiBoxTarget MultiBoxDetection AdaptiveAvgPooling2D interleaved_matmul_selfatt_qk "
           "interleaved_matmul_selfatt_valatt interleaved_matmul_encdec_qk interleaved_matmul_encdec_valatt").split()


def _missing(namespace, names):
    return [n for n in names if not callable(getattr(namespace, n, None))]


@pytest.mark.parametrize("group,names,nd,sym", [
    ("creation", CREATION, True, True), ("creation (nd)", CREATION_ND_ONLY, True, False),
    ("math", MATH, True, True), ("functional (nd)", FUNCTIONAL_ND, True, False),
    ("functional (sym)", FUNCTIONAL_SYM, False, True),
    ("shape", [n for n in SHAPE if n not in SHAPE_ND_ONLY], True, True), ("shape (nd)", sorted(SHAPE_ND_ONLY), True, False),
    ("nn", NN, True, True), ("optimizer", OPTIMIZERS, True, True), ("random (flat)", RANDOM_FLAT, True, True),
])
def test_top_level_names(group, names, nd, sym):
    missing = (["mx.nd." + n for n in _missing(mx.nd, names)] if nd else []) + \
              (["mx.sym." + n for n in _missing(mx.sym, names)] if sym else [])
    assert not missing, "%s: missing %s" % (group, " ".join(missing))


@pytest.mark.parametrize("space,names", [("random", RANDOM + RANDOM_PDF), ("linalg", LINALG), ("contrib", CONTRIB)])
def test_namespaces(space, names):
    missing = ["mx.nd.%s.%s" % (space, n) for n in _missing(getattr(mx.nd, space), names)] + \
              ["mx.sym.%s.%s" % (space, n) for n in _missing(getattr(mx.sym, space), names)]
    if space == "random":
        missing += ["mx.random." + n for n in _missing(mx.random, RANDOM)]
    assert not missing, "%s: missing %s" % (space, " ".join(missing))
