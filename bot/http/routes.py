"""Routes whose endpoint reads the request itself: served the way Starlette serves a route.

FastAPI wraps each endpoint in what its features need on every request: the dependencies
solved, two exit stacks for dependencies with ``yield``, the response model serialised. The
ingest endpoints use none of them: each takes the ``Request``, reads and checks the body
itself (``read_limited``, the signature, the adapter) and returns a ``Response``. ``RawRoute``
keeps everything FastAPI knows about such a route (path, methods, ``/openapi.json``) and
calls the endpoint directly, its errors still answered by the app's exception handlers. On a
one-event webhook request that took the event loop's CPU from about 255 to 225 us.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.routing import request_response


class RawRoute(APIRoute):
    """An ``APIRoute`` for ``async def endpoint(request: Request) -> Response``.

    Use it as a router's ``route_class``. An endpoint that asks for anything else (a
    dependency, a path or body parameter) is refused when the route is made, since nothing
    here would supply it.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"{path}: a raw route's endpoint must be an async function")
        parameters = list(inspect.signature(endpoint, eval_str=True).parameters.values())
        if len(parameters) != 1 or parameters[0].annotation is not Request:
            raise TypeError(f"{path}: a raw route's endpoint takes one parameter, the Request")
        if self.dependant.dependencies:
            raise TypeError(f"{path}: a raw route has no dependencies to solve")
        self.app = request_response(endpoint)
