"""mx.gluon.model_zoo: predefined models (vision) and the local store of their pretrained weights
(model_store), as MXNet 1.9.1's gluon.model_zoo."""
from . import model_store
from . import vision
