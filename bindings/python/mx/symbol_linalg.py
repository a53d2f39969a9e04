"""mx.sym.linalg: the symbolic forms of MXNet's linear-algebra ops (`_linalg_X` as linalg.X)."""
