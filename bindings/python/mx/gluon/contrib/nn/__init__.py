"""mx.gluon.contrib.nn: Concurrent, HybridConcurrent, Identity."""
from .basic_layers import *
