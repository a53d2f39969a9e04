"""Optional alias: `import mxnet as mx` gives mx, so MXNet 1.x programs run unchanged.

Kept out of bindings/python on purpose: put bindings/mxnet-alias on PYTHONPATH (after
bindings/python) only where no real MXNet is installed, since this package shadows it.
`import mxnet`, `from mxnet import nd`, `import mxnet.ndarray as nd` and
`from mxnet.gluon...`-style submodule imports of modules mx has all resolve to mx's modules.
"""
import importlib
import pkgutil
import sys

import mx as _mx

# Every submodule of mx under both names, so `import mxnet.module` finds mx.module (the
# import system looks submodules up in sys.modules by their full dotted name).
for _info in pkgutil.walk_packages(_mx.__path__, "mx."):
    if _info.name.rsplit(".", 1)[-1].startswith("_"):
        continue
    try:
        _module = importlib.import_module(_info.name)
    except ImportError:  # a submodule needing something absent (a plugin) stays absent, as in mx
        continue
    sys.modules["mxnet" + _info.name[2:]] = _module
for _name in ("nd", "sym", "mod", "kv", "init", "mon"):  # MXNet's short names
    if hasattr(_mx, _name):
        sys.modules["mxnet." + _name] = getattr(_mx, _name)

sys.modules[__name__] = _mx
