"""mx.gluon.contrib (MXNet 1.9.1): layers outside gluon's core API."""
from . import nn
