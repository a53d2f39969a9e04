"""mx.gluon.data.vision: image datasets and transforms (MXNet 1.9.1's gluon.data.vision)."""
from .datasets import *  # noqa: F401,F403
from . import transforms  # noqa: F401
