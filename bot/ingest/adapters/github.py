"""GitHub pull requests as outcomes: opened, looked at by others, merged.

One adapter for both ways GitHub data arrives (source ``github``):

- **webhook deliveries** (``POST /webhooks/github``), the payload as GitHub sends it:
  ``pull_request`` (``{"action", "number", "pull_request", "repository", …}``),
  ``pull_request_review`` (``{"action", "review", "pull_request", "repository"}``) and
  ``issue_comment`` (``{"action", "comment", "issue", "repository"}``);
- **the pull connector's records** (``bot.connectors.github``): a pull request from the REST API
  with what was fetched beside it, ``{"repository", "pull_request", "reviews": [...],
  "issue_comments": [...], "commits": [...]}``.

A body is one such object, a JSON array of them, or NDJSON. What each becomes:

- a pull request → ``artifact.created`` (kind ``pull_request``) keyed by the pull request
  (``owner/repo#number``, lower case: the same from a webhook, an issue comment and the REST API),
  at its ``created_at``, by its author ``Actor("github", login)``, with the traits the
  AI-assisted rules read (``ArtifactTraits``): the author and whether GitHub says it is a bot,
  who asked for it (below), label names, the ``Co-authored-by:`` lines of its commits (the
  connector fetches them; webhook payloads carry no commits) and the last five non-empty lines of
  its description (where generation footers sit), each at most 200 characters. The description
  itself is never kept. Every ``pull_request`` delivery, whatever its action (``opened``,
  ``edited``, ``reopened``, ``ready_for_review``, ``labeled``, ``closed`` …), describes the same
  artifact again: the stored event stays one, the artifact's title and traits are refreshed.
  Drafts count as opened when they are opened (coding agents open drafts); a pull request closed
  without merging stays created and never used. A webhook's description has no trailers: the
  store keeps those it learnt from an earlier pull (``events._keep_stored_trailers``), and a
  pull request first seen by webhook gets them at the next pull (hourly, and always before a
  week's digest, which waits for the source's watermark).
- merged (``merged_at`` set) → ``artifact.used`` keyed ``merged/<pull request>`` at
  ``merged_at``, by whoever merged it (``merged_by``; unknown in a REST listing, which the
  connector completes). Merged once, counted once.
- a submitted review (any state, dismissed included: the review took place) → ``artifact.viewed``
  keyed by the review's id, at ``submitted_at``, by the reviewer; a comment on the pull request's
  conversation → ``artifact.viewed`` keyed by the comment's id, at its ``created_at``. An edited
  review or comment is the same view again; a deleted comment takes nothing back (someone did
  look) and adds nothing. Pending reviews (not submitted) and comments on plain issues are not
  views. Reviews and comments by bots (``user.type == "Bot"``: CI, coverage reporters, review
  bots) are not people looking and are left out. A view by the author is kept: the facts do not
  count a creator's own views.

``requested_by`` is whom the pull request was made for. GitHub's coding agent opens the pull
request as its own bot account, assigns it to the person who asked, and requests that person's
review when it is done: so the first assignee who is not the author and not a bot, else the
first requested reviewer who is not, else nobody. Whether a pull request is AI-assisted is left to
the admins' rules (``ai_assisted`` is ``None``): no agent is named here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bot.domain.events import (
    Actor,
    ArtifactRef,
    ArtifactTraits,
    EventType,
    NormalizedEvent,
    ParseResult,
)
from bot.errors import EventError, PayloadError
from bot.ingest.adapters.common import (
    Records,
    as_list,
    as_object,
    has_any,
    label,
    make_key,
    optional_object,
    read_records,
    require_some,
    required_text,
    rfc3339,
    text,
    vendor_actor,
)

SOURCE = "github"
KIND = "pull_request"
EXPECTED = (
    "GitHub pull_request, pull_request_review or issue_comment webhook payloads, or pull "
    'request records ({"repository", "pull_request", "reviews", "issue_comments", "commits"})'
)
MARKER_LINES = 5  # the last lines of a description kept as markers
MAX_TRAIT_LENGTH = 200  # each label, trailer and marker
MAX_LABELS = 50
MAX_TRAILERS = 50
_TRAILER = re.compile(r"^\s*co-authored-by\s*:", re.IGNORECASE)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    items, line_errors = read_records(body, content_type, _unwrap)
    require_some(items, _looks_like_record, "a GitHub pull request, review or issue comment")
    return Records(items, parse_record, line_errors)


def _unwrap(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if _looks_like_record(document):
        return [document]
    raise PayloadError(f"expected {EXPECTED}")


def _looks_like_record(item: Any) -> bool:
    return has_any(item, "pull_request") or (has_any(item, "comment") and has_any(item, "issue"))


def parse_record(record: Any) -> Iterator[NormalizedEvent]:
    if not isinstance(record, dict):
        raise EventError("record must be a JSON object")
    if "review" in record and "pull_request" in record:
        yield from _review_delivery(record)
    elif "comment" in record and "issue" in record:
        yield from _comment_delivery(record)
    elif "pull_request" in record:
        yield from _pull_request_record(record)
    else:
        raise EventError("record is not a pull request, a review or an issue comment")


# Pull requests ---------------------------------------------------------------------------


def _pull_request_record(record: dict[str, Any]) -> Iterator[NormalizedEvent]:
    pull = as_object(record.get("pull_request"), "pull_request")
    artifact_id = _artifact_id(record, pull, "pull_request")
    author = _login(pull.get("user"), "pull_request.user")
    if author is None:
        raise EventError("pull_request.user.login is missing: the pull request names no author")
    created_at = rfc3339(pull.get("created_at"), "pull_request.created_at")
    traits = ArtifactTraits(
        author=author,
        author_is_bot=_is_bot(pull.get("user")),
        requested_by=_requested_by(pull, author),
        labels=_labels(pull.get("labels")),
        trailers=_trailers(record.get("commits")),
        markers=_markers(pull.get("body")),
    )
    yield NormalizedEvent(
        key=make_key("created", artifact_id),
        type=EventType.ARTIFACT_CREATED,
        occurred_at=created_at,
        actor=Actor("github", author),
        artifact=ArtifactRef(
            external_id=artifact_id,
            kind=KIND,
            title=label(pull.get("title"), "pull_request.title"),
            traits=traits,
        ),
    )
    merged_at = pull.get("merged_at")
    if merged_at:
        yield NormalizedEvent(
            key=make_key("merged", artifact_id),
            type=EventType.ARTIFACT_USED,
            occurred_at=rfc3339(merged_at, "pull_request.merged_at"),
            actor=_actor(pull.get("merged_by"), "pull_request.merged_by"),
            artifact=ArtifactRef(external_id=artifact_id, kind=KIND),
        )
    for index, review in enumerate(as_list(record.get("reviews"), "reviews")):
        yield from _review(review, artifact_id, f"reviews[{index}]")
    for index, comment in enumerate(as_list(record.get("issue_comments"), "issue_comments")):
        yield from _comment(comment, artifact_id, f"issue_comments[{index}]")


def _artifact_id(record: dict[str, Any], pull: dict[str, Any], field: str) -> str:
    """``owner/repo#number`` in lower case, from the record's repository (webhooks and the
    connector's records), else from the pull request's base repository (a bare REST object)."""
    number = pull.get("number")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise EventError(f"{field}.number must be a positive whole number")
    repository = optional_object(record.get("repository"), "repository")
    full_name = text(repository.get("full_name"), "repository.full_name")
    if full_name is None:
        base = optional_object(pull.get("base"), f"{field}.base")
        repo = optional_object(base.get("repo"), f"{field}.base.repo")
        full_name = text(repo.get("full_name"), f"{field}.base.repo.full_name")
    if full_name is None:
        raise EventError("repository.full_name is missing: the pull request names no repository")
    return f"{full_name.lower()}#{number}"


def _requested_by(pull: dict[str, Any], author: str) -> str | None:
    """The first assignee, else the first requested reviewer, who is a person other than the
    author (see the module's note on coding agents)."""
    for field in ("assignees", "requested_reviewers"):
        for index, user in enumerate(as_list(pull.get(field), f"pull_request.{field}")):
            login = _login(user, f"pull_request.{field}[{index}]")
            if login is not None and login != author and not _is_bot(user):
                return login
    assignee = _login(pull.get("assignee"), "pull_request.assignee")
    if assignee is not None and assignee != author and not _is_bot(pull.get("assignee")):
        return assignee
    return None


def _labels(value: Any) -> tuple[str, ...]:
    names: list[str] = []
    for index, item in enumerate(as_list(value, "pull_request.labels")):
        name = item.get("name") if isinstance(item, dict) else item
        short = _short(text(name, f"pull_request.labels[{index}].name", 10_000))
        if short and short not in names:
            names.append(short)
    return tuple(names[:MAX_LABELS])


def _trailers(value: Any) -> tuple[str, ...]:
    """The ``Co-authored-by:`` lines of the commits' messages, each once, in order."""
    found: list[str] = []
    for index, item in enumerate(as_list(value, "commits")):
        commit = optional_object(item, f"commits[{index}]")
        message = optional_object(commit.get("commit"), f"commits[{index}].commit").get("message")
        if message is None:
            message = commit.get("message")  # a push payload's commit
        if not isinstance(message, str):
            continue
        for line in message.splitlines():
            if _TRAILER.match(line):
                short = _short(line)
                if short and short not in found:
                    found.append(short)
    return tuple(found[:MAX_TRAILERS])


def _markers(body: Any) -> tuple[str, ...]:
    """The last ``MARKER_LINES`` non-empty lines of a description, cut to 200 characters."""
    if not isinstance(body, str):
        return ()
    lines = [short for line in body.splitlines() if (short := _short(line))]
    return tuple(lines[-MARKER_LINES:])


def _short(value: str | None) -> str | None:
    """A trait as it may be stored: control characters and runs of spaces made one space, at most
    ``MAX_TRAIT_LENGTH`` characters."""
    if value is None:
        return None
    cleaned = _SPACES.sub(" ", _UNSAFE.sub(" ", value)).strip()
    return cleaned[:MAX_TRAIT_LENGTH] or None


# Reviews and comments --------------------------------------------------------------------


def _review_delivery(record: dict[str, Any]) -> Iterator[NormalizedEvent]:
    pull = as_object(record.get("pull_request"), "pull_request")
    yield from _review(record.get("review"), _artifact_id(record, pull, "pull_request"), "review")


def _comment_delivery(record: dict[str, Any]) -> Iterator[NormalizedEvent]:
    issue = as_object(record.get("issue"), "issue")
    if not issue.get("pull_request"):
        return  # a comment on an issue, not on a pull request
    if record.get("action") == "deleted":
        return  # the view it recorded stands; a deletion adds nothing
    yield from _comment(record.get("comment"), _artifact_id(record, issue, "issue"), "comment")


def _review(value: Any, artifact_id: str, field: str) -> Iterator[NormalizedEvent]:
    review = as_object(value, field)
    submitted_at = review.get("submitted_at")
    if not submitted_at or str(review.get("state", "")).upper() == "PENDING":
        return  # a pending review nobody else can see yet
    yield from _view(
        review, "review", artifact_id, field, _instant(submitted_at, f"{field}.submitted_at")
    )


def _comment(value: Any, artifact_id: str, field: str) -> Iterator[NormalizedEvent]:
    comment = as_object(value, field)
    at = _instant(comment.get("created_at"), f"{field}.created_at")
    yield from _view(comment, "comment", artifact_id, field, at)


def _view(
    item: dict[str, Any], what: str, artifact_id: str, field: str, at: datetime
) -> Iterator[NormalizedEvent]:
    if _is_bot(item.get("user")):
        return
    viewer = _actor(item.get("user"), f"{field}.user")
    if viewer is None:
        return  # a deleted account ("ghost" is still a login; a null user is nobody)
    item_id = required_text(item.get("id"), f"{field}.id")
    yield NormalizedEvent(
        key=make_key(what, artifact_id, item_id),
        type=EventType.ARTIFACT_VIEWED,
        occurred_at=at,
        actor=viewer,
        artifact=ArtifactRef(external_id=artifact_id, kind=KIND),
    )


# People ----------------------------------------------------------------------------------


def _login(user: Any, field: str) -> str | None:
    """A user's login in lower case (logins are case-insensitive), or ``None``."""
    if user is None:
        return None
    login = text(as_object(user, field).get("login"), f"{field}.login", 100)
    return login.lower() if login is not None else None


def _actor(user: Any, field: str) -> Actor | None:
    login = _login(user, field)
    return vendor_actor("github", login, f"{field}.login") if login is not None else None


def _is_bot(user: Any) -> bool:
    return isinstance(user, dict) and user.get("type") == "Bot"


def _instant(value: Any, field: str) -> datetime:
    if value in (None, ""):
        raise EventError(f"{field} is missing")
    return rfc3339(value, field)
