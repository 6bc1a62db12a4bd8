"""Reading a vendor's paged listing through ``Outbound``: opaque cursors, id cursors and
``Link`` headers.

A cursor that expired (410) restarts the listing from its first page: the pages already handed
to the adapters upsert, so reading them again never doubles anything.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.errors import CursorExpiredError, RequestFailedError
from bot.outbound.http import Outbound

log = logging.getLogger(__name__)

MAX_RESTARTS = 2  # an expired cursor restarts a listing at most this often
MAX_PAGES = 10_000  # a listing that never ends is a vendor bug, not a reason to loop forever


def cursor_pages(
    outbound: Outbound,
    url: str,
    params: Mapping[str, Any],
    *,
    cursor_param: str = "page",
    next_field: str = "next_page",
) -> Iterator[dict[str, Any]]:
    """Each page of ``url``: ``{…, "has_more": bool, next_field: "<opaque cursor>"}``, the
    cursor sent back as ``cursor_param`` (OpenAI's and Anthropic's usage reports)."""
    cursor: str | None = None
    restarts = 0
    for _ in range(MAX_PAGES):
        query = dict(params)
        if cursor is not None:
            query[cursor_param] = cursor
        try:
            page = _page(outbound, url, query)
        except CursorExpiredError:
            if cursor is None or restarts >= MAX_RESTARTS:
                raise
            restarts += 1
            log.info(
                "%s: the cursor of %s expired; reading it again from the start", outbound.name, url
            )
            cursor = None
            continue
        yield page
        if not page.get("has_more"):
            return
        following = page.get(next_field)
        if not isinstance(following, str) or not following:
            raise RequestFailedError(
                f"{outbound.name}: {url} said has_more but gave no {next_field}", status=200
            )
        cursor = following
    raise RequestFailedError(
        f"{outbound.name}: {url} did not end after {MAX_PAGES} pages", status=200
    )


def id_pages(
    outbound: Outbound,
    url: str,
    params: Mapping[str, Any],
    *,
    after_param: str,
) -> Iterator[list[dict[str, Any]]]:
    """The ``data`` of each page of a list endpoint paged by object id: ``{"data": [...],
    "has_more", "last_id"}``, the next page asked for with ``after_param=<last_id>`` (OpenAI's
    ``after``, Anthropic's ``after_id``)."""
    after: str | None = None
    for _ in range(MAX_PAGES):
        query = dict(params)
        if after is not None:
            query[after_param] = after
        page = _page(outbound, url, query)
        data = page.get("data")
        if not isinstance(data, list):
            raise RequestFailedError(
                f"{outbound.name}: {url} answered without a data list", status=200
            )
        items = [item for item in data if isinstance(item, dict)]
        yield items
        last_id = page.get("last_id") or (items[-1].get("id") if items else None)
        if not page.get("has_more") or not isinstance(last_id, str):
            return
        after = last_id
    raise RequestFailedError(
        f"{outbound.name}: {url} did not end after {MAX_PAGES} pages", status=200
    )


def link_pages(
    outbound: Outbound, url: str, params: Mapping[str, Any]
) -> Generator[list[dict[str, Any]], None, None]:
    """Each page of a listing that answers a JSON array and names the next page in its ``Link``
    header (``<…>; rel="next"``, GitHub's REST API). The next link already holds the query; a
    link to another host is refused (the credential would go with it). Stop reading whenever
    enough has been read: no request is made for a page nobody asks for."""
    following: str | None = url
    query: Mapping[str, Any] | None = params
    host = outbound.client.base_url.netloc.decode()
    for _ in range(MAX_PAGES):
        assert following is not None
        response = outbound.request("GET", following, params=query)
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, list):
            raise RequestFailedError(
                f"{outbound.name}: {url} answered without a JSON array", status=200
            )
        yield [item for item in body if isinstance(item, dict)]
        following = response.links.get("next", {}).get("url")
        if not following:
            return
        if urlsplit(following).netloc not in {"", host}:
            raise RequestFailedError(
                f"{outbound.name}: {url} linked its next page on another host", status=200
            )
        query = None
    raise RequestFailedError(
        f"{outbound.name}: {url} did not end after {MAX_PAGES} pages", status=200
    )


def _page(outbound: Outbound, url: str, query: Mapping[str, Any]) -> dict[str, Any]:
    page = outbound.get_json(url, params=query)
    if not isinstance(page, dict):
        raise RequestFailedError(f"{outbound.name}: {url} answered with no JSON object", status=200)
    return page
