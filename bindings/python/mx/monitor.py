"""mx.monitor: Monitor (statistics of every op output during forward). Owner: helper G2."""
