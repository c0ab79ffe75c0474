"""``ModelResponse``: a response model written as JSON in the handler's own thread.

FastAPI validates and serialises what a synchronous handler returns in a second trip
to the thread pool, and validates it again though the handler built it as the very
model. Returning ``ModelResponse(model)`` skips both: the model was validated when it
was built, and pydantic writes it as JSON at once. The route keeps its
``response_model`` for the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from starlette.responses import Response


class ModelResponse(Response):
    media_type = "application/json"

    def __init__(self, content: BaseModel, status_code: int = 200, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(content, status_code=status_code, headers=headers)

    def render(self, content: Any) -> bytes:
        model: BaseModel = content
        return model.__pydantic_serializer__.to_json(model)
