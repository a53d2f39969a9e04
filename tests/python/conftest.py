# The package from this checkout (bindings/python); libmx from MX_LIBRARY_PATH or build/release/lib.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python"))
