"""Hot routes answer with bytes pydantic-core encoded once.

A route that returns a model lets FastAPI dump it, validate the dump against
``response_model`` and encode it again with ``json.dumps``; the model was validated when it
was built, so the hot routes return ``json_response(model)`` instead and keep
``response_model`` on the route for the OpenAPI schema only. The JSON is the same: compact
separators, UTF-8 unescaped, datetimes in ISO 8601 as pydantic writes them.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response
from pydantic import BaseModel

__all__ = ["json_response"]


def json_response(
    model: BaseModel, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        content=model.model_dump_json(),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )
