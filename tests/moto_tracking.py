"""Keep the embedded moto's ``/moto-api/data.json`` fast after a suite that writes a lot.

moto keeps a strong reference to every model instance it ever created (for that endpoint,
never for its own state): after the fuzz suite's thousands of DynamoDB writes, each
``data.json`` read (the tests read sent mail there) took seconds.  Forgetting the tracked
DynamoDB instances changes nothing in the tables.
"""

from __future__ import annotations

import sys


def forget_dynamodb_instances() -> None:
    if "moto" not in sys.modules:  # nothing tracked (the unit tests never import moto)
        return
    from moto.core.model_instances import model_data

    for model in model_data.get("dynamodb", {}).values():
        tracked = getattr(model, "instances_tracked", None)
        if isinstance(tracked, list):
            tracked.clear()
