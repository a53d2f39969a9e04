"""mx.runtime: which of MXNet's library features this libmx has (Features, Feature, feature_list).

MXNet answers from compile-time flags (MXLibInfoFeatures). mx answers from what is loaded now
(mx.backend.list_backends): CUDA / CUDNN when the cuda backend loaded and sees a device, BLAS_OPEN
when the cpu backend reports OpenBLAS. Features this runtime does not have (MKLDNN, TensorRT,
OpenCV, OpenMP: the cpu backend uses its own thread pool, ...) are listed as disabled."""
import collections

from .backend import list_backends

__all__ = ["Feature", "Features", "feature_list"]

# MXNet 1.9.1's feature names, in its order (src/libinfo.cc).
_FEATURE_NAMES = (
    "CUDA", "CUDNN", "NCCL", "CUDA_RTC", "TENSORRT", "CPU_SSE", "CPU_SSE2", "CPU_SSE3", "CPU_SSE4_1",
    "CPU_SSE4_2", "CPU_SSE4A", "CPU_AVX", "CPU_AVX2", "OPENMP", "SSE", "F16C", "JEMALLOC", "BLAS_OPEN",
    "BLAS_ATLAS", "BLAS_MKL", "BLAS_APPLE", "LAPACK", "MKLDNN", "OPENCV", "CAFFE", "PROFILER",
    "DIST_KVSTORE", "CXX14", "INT64_TENSOR_SIZE", "SIGNAL_HANDLER", "DEBUG", "TVM_OP")


class Feature:
    """One library feature: its name and whether it is enabled; prints as MXNet's ("✔ CUDA")."""

    def __init__(self, name, enabled):
        self.name = name
        self.enabled = bool(enabled)

    def __repr__(self):
        return ("✔ {}" if self.enabled else "✖ {}").format(self.name)


def _enabled_features():
    """Names of the features the loaded backends provide."""
    enabled = set()
    for backend in list_backends():
        if not backend["usable"]:
            continue
        if backend["name"] == "cpu" and "openblas" in backend["version"].lower():
            enabled.add("BLAS_OPEN")
        if backend["name"] == "cuda" and backend["devices"] > 0:
            enabled.add("CUDA")
            if "cudnn" in backend["version"].lower():
                enabled.add("CUDNN")
    return enabled


def feature_list():
    """Every feature MXNet names, as a list of Feature, in MXNet's order."""
    enabled = _enabled_features()
    return [Feature(name, name in enabled) for name in _FEATURE_NAMES]


class Features(collections.OrderedDict):
    """name -> Feature for every feature (one shared instance, as MXNet's)."""

    instance = None

    def __new__(cls):
        if cls.instance is None:
            cls.instance = super().__new__(cls)
            super().__init__(cls.instance, [(f.name, f) for f in feature_list()])
        return cls.instance

    def __init__(self):  # filled once in __new__
        pass

    def __repr__(self):
        return str(list(self.values()))

    def is_enabled(self, feature_name):
        """Whether feature_name (case-insensitive) is enabled; RuntimeError for an unknown name."""
        feature_name = feature_name.upper()
        if feature_name not in self:
            raise RuntimeError("Feature '{}' is unknown, known features are: {}".format(feature_name, list(self.keys())))
        return self[feature_name].enabled
