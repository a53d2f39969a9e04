"""mx.attribute: AttrScope (attributes given to every symbol made inside a `with`). Owner: helper G1."""


class AttrScope:  # placeholder until G1's lands
    pass
