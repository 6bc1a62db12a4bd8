"""``RawRoute``: an endpoint that reads the request itself is called directly, its errors still
answered by the app's handlers, and the route still described in ``/openapi.json``."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient

from bot.http import github, slack_events, webhooks
from bot.http.routes import RawRoute


class Refused(Exception):
    pass


def app_with_raw_route() -> FastAPI:
    router = APIRouter(route_class=RawRoute)

    @router.post("/things/{name}", status_code=202)
    async def things(request: Request) -> Response:
        """Things, by name."""
        name = request.path_params["name"]
        if name == "refused":
            raise Refused(name)
        body = await request.body()
        # FastAPI's own per-request machinery (its exit stacks) is not set up for this route.
        wrapped = b" (wrapped)" if "fastapi_inner_astack" in request.scope else b""
        return Response(name.encode() + b":" + body + wrapped, status_code=202)

    app = FastAPI()
    app.router.routes.extend(router.routes)

    @app.exception_handler(Refused)
    async def _refused(request: Request, error: Refused) -> JSONResponse:
        return JSONResponse({"error": f"refused {error}"}, status_code=400)

    return app


def test_the_endpoint_gets_the_request_and_its_response_is_sent() -> None:
    client = TestClient(app_with_raw_route())
    answer = client.post("/things/cup", content=b"tea")
    assert (answer.status_code, answer.content) == (202, b"cup:tea")


def test_an_error_is_answered_by_the_apps_exception_handler() -> None:
    client = TestClient(app_with_raw_route())
    answer = client.post("/things/refused", content=b"")
    assert (answer.status_code, answer.json()) == (400, {"error": "refused refused"})


def test_other_methods_are_not_allowed() -> None:
    client = TestClient(app_with_raw_route())
    assert client.get("/things/cup").status_code == 405


def test_the_route_is_still_in_openapi() -> None:
    document = TestClient(app_with_raw_route()).get("/openapi.json").json()
    operation = document["paths"]["/things/{name}"]["post"]
    assert operation["description"] == "Things, by name."
    assert "202" in operation["responses"]


def test_the_ingest_routes_are_raw_routes() -> None:
    routes = [*webhooks.router.routes, *github.router.routes, *slack_events.router.routes]
    assert {route.path for route in routes if isinstance(route, RawRoute)} == {
        "/webhooks/{source}",
        "/v1/traces",
        "/webhooks/github",
        "/slack/events",
    }


def test_an_endpoint_that_asks_for_more_than_the_request_is_refused() -> None:
    router = APIRouter(route_class=RawRoute)

    async def with_parameter(request: Request, name: str) -> Response:
        return Response()

    with pytest.raises(TypeError, match="one parameter, the Request"):
        router.add_api_route("/a/{name}", with_parameter, methods=["POST"])

    def not_async(request: Request) -> Response:
        return Response()

    with pytest.raises(TypeError, match="async function"):
        router.add_api_route("/b", not_async, methods=["POST"])

    async def plain(request: Request) -> Response:
        return Response()

    def dependency() -> None:
        return None

    with pytest.raises(TypeError, match="no dependencies"):
        router.add_api_route("/c", plain, methods=["POST"], dependencies=[Depends(dependency)])
