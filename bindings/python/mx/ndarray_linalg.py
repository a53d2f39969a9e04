"""mx.nd.linalg: MXNet's linear-algebra ops (`_linalg_X` registered as linalg.X: gemm2, potrf, ...)."""
