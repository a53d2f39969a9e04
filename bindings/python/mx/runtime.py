"""mx.runtime: Features (what this build of libmx has). Owner: helper A."""
