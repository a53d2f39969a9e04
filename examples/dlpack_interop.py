#!/usr/bin/python3
"""Exchanging tensors with numpy and torch through DLPack, without copying: each pair of arrays
below shares one buffer, which the printed addresses show.

    /usr/bin/python3 examples/dlpack_interop.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import mx  # noqa: E402


def main():
    # numpy -> mx: mx computes on numpy's memory.
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = mx.nd.from_dlpack(host)
    print("numpy buffer %#x, mx array over %#x" % (host.ctypes.data, np.from_dlpack(a).ctypes.data))
    print("mx: a * 10 =", (a * 10).asnumpy().tolist())

    # mx -> numpy: numpy reads mx's memory (read-only, as numpy marks every DLPack import).
    b = mx.nd.ones((2, 2)) * 7
    view = np.from_dlpack(b)
    print("numpy sees mx's result:", view.tolist(), "writeable:", view.flags.writeable)

    try:
        import torch
    except ImportError:
        print("torch is not installed (Debian: python3-torch); skipping the torch half")
        return 0
    # torch -> mx and back: writes on either side are seen by the other.
    t = torch.zeros(3)
    m = mx.nd.from_dlpack(t)
    t += 5
    print("torch wrote 5s, mx reads", m.asnumpy().tolist())
    back = torch.from_dlpack(mx.nd.relu(mx.nd.array([-1.0, 2.0, -3.0])))
    back.mul_(2)
    print("torch tensor over mx's relu output, doubled in place:", back.tolist())
    print("shared buffer: torch %#x, mx %#x" % (t.data_ptr(), np.from_dlpack(m).ctypes.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
