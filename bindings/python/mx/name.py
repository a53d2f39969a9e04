"""mx.name: NameManager / Prefix (automatic symbol names). Owner: helper G1."""
