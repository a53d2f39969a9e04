"""mx.util: np_shape / use_np_shape / is_np_shape (MXNet 1.x shape semantics switch). Owner: helper A."""
