"""The AI-assisted rules in the App Home's admin section (DESIGN §3.7): add, edit, switch on or
off, delete, each previewed or confirmed in a modal and audited (``bot.store.ai_rules``).

Only workspace admins: rights are checked afresh (``is_admin``) after the ack of every press,
and again on every submission (``known_admin`` in the ack when this process knows the verdict,
else ``users.info`` right after it), so a forged ``block_actions`` or ``view_submission`` from
anyone else opens nothing and stores nothing.

Adding or editing takes two submissions. The edit modal's submit is checked from its values
(field errors in the ack, ``response_action: errors``) and answered with the confirmation view
(``response_action: update``) while the rule's effect is counted; the count then replaces it
(``views.update``: "This rule matches N artifacts; M of them are not marked AI-assisted now",
with Save and Back). Only Save stores: it is checked again, acknowledged (the modal closes), and
then the rule is stored, audited and every artifact re-marked in one transaction, and the App
Home republished. Counting and re-marking read every artifact, so both come after the ack.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.context import AppContext
from bot.domain.ai_rules import Rule
from bot.slack import ids
from bot.slack.blocks.ai_rules import (
    KIND_BLOCK,
    PATTERN_BLOCK,
    TOOL_BLOCK,
    RuleForm,
    confirm_modal,
    delete_modal,
    edit_modal,
    form_from_metadata,
    notice_modal,
    page_from_metadata,
    rules_modal,
)
from bot.slack.home_service import publish_home
from bot.slack.people import is_admin, known_admin
from bot.slack.view_state import element_state, selected_value
from bot.store import ai_marks, ai_rules
from bot.store.db import transaction

log = logging.getLogger(__name__)

NOT_AN_ADMIN = "Only workspace admins can change the AI-assisted rules."
COUNT_FAILED = (
    "The artifacts this rule matches could not be counted (a database error), so nothing was "
    "saved. Try again in a moment."
)
DATABASE_FAILED = "the database could not be written to, so nothing changed. Try again in a moment."
FIELD_BLOCKS = {
    ai_rules.KIND: KIND_BLOCK,
    ai_rules.PATTERN: PATTERN_BLOCK,
    ai_rules.TOOL: TOOL_BLOCK,
}

View = dict[str, Any]


def _user(body: dict[str, Any]) -> str:
    return str(body["user"]["id"])


def _view(body: dict[str, Any]) -> dict[str, Any]:
    view = body.get("view")
    return view if isinstance(view, dict) else {}


def _in_list_modal(body: dict[str, Any]) -> bool:
    return _view(body).get("callback_id") == ids.AI_RULES_VIEW


def _in_modal(body: dict[str, Any]) -> bool:
    return _view(body).get("type") == "modal"


def _show(client: WebClient, body: dict[str, Any], view: View) -> None:
    """Open ``view`` from the App Home, or push it over the modal the press came from."""
    if _in_modal(body):
        client.views_push(trigger_id=body["trigger_id"], view=view)
    else:
        client.views_open(trigger_id=body["trigger_id"], view=view)


def _note(client: WebClient, user_id: str, text: str) -> None:
    """A direct message for what could not be said in the ack (the modal has closed)."""
    try:
        client.chat_postMessage(channel=user_id, text=text, unfurl_links=False)
    except SlackApiError as exc:
        log.warning("could not tell %s about their AI-assisted rule change: %s", user_id, exc)


def _rules(context: AppContext) -> list[Rule]:
    with Session(context.engine) as session:
        return ai_rules.list_rules(session)


def _refresh(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    """After a change: the list modal it came from (if any) and the admin's App Home."""
    if _in_list_modal(body):
        view = _view(body)
        page = page_from_metadata(view.get("private_metadata"))
        client.views_update(view_id=view["id"], view=rules_modal(_rules(context), page))
    publish_home(context, client, _user(body))


def _parse_value(value: str) -> tuple[str, int] | None:
    """``"off:12"`` → ``("off", 12)``; None for anything else."""
    verb, _, rest = value.partition(":")
    if verb in ("on", "off", "edit", "delete") and rest.isdigit():
        return verb, int(rest)
    return None


# Presses --------------------------------------------------------------------------------------


def open_add(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    user_id = _user(body)
    if not is_admin(context.settings, client, user_id):
        log.warning("refused %s from non-admin %s", ids.AI_RULE_ADD, user_id)
        return
    _show(client, body, edit_modal(RuleForm()))


def open_all(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    user_id = _user(body)
    if not is_admin(context.settings, client, user_id):
        log.warning("refused %s from non-admin %s", ids.AI_RULES_ALL, user_id)
        return
    client.views_open(trigger_id=body["trigger_id"], view=rules_modal(_rules(context), 0))


def turn_page(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    user_id = _user(body)
    if not is_admin(context.settings, client, user_id):
        log.warning("refused %s from non-admin %s", ids.AI_RULES_PAGE, user_id)
        return
    value = str(body["actions"][0].get("value") or "0")
    page = int(value) if value.isdigit() else 0
    client.views_update(view_id=_view(body)["id"], view=rules_modal(_rules(context), page))


def rule_action(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    """A rule's button (switch a built-in) or overflow menu (edit, switch, delete a custom one)."""
    user_id = _user(body)
    action = body["actions"][0]
    chosen = action.get("selected_option") or {}
    value = str(chosen.get("value") if isinstance(chosen, dict) and chosen else action.get("value"))
    parsed = _parse_value(value)
    if not is_admin(context.settings, client, user_id):
        log.warning("refused an AI-assisted rule action from non-admin %s", user_id)
        return
    if parsed is None:
        log.warning("ignored an AI-assisted rule action with value %r", value[:40])
        return
    verb, rule_id = parsed
    if verb in ("on", "off"):
        try:
            with transaction(context.engine) as session:
                ai_rules.set_enabled(
                    session, rule_id, verb == "on", actor=user_id, now=context.clock()
                )
        except ai_rules.RuleError as exc:
            log.info("AI-assisted rule %s not switched: %s", rule_id, exc.message)
        _refresh(context, client, body)
        return
    with Session(context.engine) as session:
        rule = ai_rules.rule_by_id(session, rule_id)
    if rule is None:
        _show(client, body, notice_modal(ai_rules.GONE))
    elif rule.builtin:
        refusal = ai_rules.BUILTIN_UNCHANGEABLE if verb == "edit" else ai_rules.BUILTIN_UNDELETABLE
        _show(client, body, notice_modal(refusal))
    elif verb == "edit":
        form = RuleForm(rule.id, rule.kind.value, rule.pattern, rule.tool or "")
        _show(client, body, edit_modal(form))
    else:
        _show(client, body, delete_modal(rule))


def back(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    """From the confirmation back to the edit modal, with what was entered."""
    user_id = _user(body)
    if not is_admin(context.settings, client, user_id):
        log.warning("refused %s from non-admin %s", ids.AI_RULE_BACK, user_id)
        return
    view = _view(body)
    form = form_from_metadata(view.get("private_metadata"))
    client.views_update(view_id=view["id"], view=edit_modal(form))


# Submissions ----------------------------------------------------------------------------------


def _problems(session: Session, form: RuleForm) -> tuple[ai_rules.Draft | None, dict[str, str]]:
    """The checked draft, or the problems by field (an edit of a built-in or vanished rule is a
    problem of the pattern's field)."""
    if form.rule_id is not None:
        existing = ai_rules.rule_by_id(session, form.rule_id)
        if existing is None:
            return None, {ai_rules.PATTERN: ai_rules.GONE}
        if existing.builtin:
            return None, {ai_rules.PATTERN: ai_rules.BUILTIN_UNCHANGEABLE}
    return ai_rules.check_draft(session, form.kind, form.pattern, form.tool, rule_id=form.rule_id)


def submit_edit(context: AppContext, ack: Ack, client: WebClient, body: dict[str, Any]) -> None:
    """The edit modal's submit: check, then show the preview (see the module docstring)."""
    user_id = _user(body)
    view = _view(body)
    verdict = known_admin(context.settings, user_id)
    if verdict is False:
        log.warning("refused an AI-assisted rule from non-admin %s", user_id)
        ack(response_action="errors", errors={PATTERN_BLOCK: NOT_AN_ADMIN})
        return
    pattern = element_state(view, PATTERN_BLOCK).get("value")
    tool = element_state(view, TOOL_BLOCK).get("value")
    entered = RuleForm(
        rule_id=form_from_metadata(view.get("private_metadata")).rule_id,
        kind=selected_value(view, KIND_BLOCK) or "",
        pattern=pattern if isinstance(pattern, str) else "",
        tool=tool if isinstance(tool, str) else "",
    )
    with Session(context.engine) as session:
        draft, errors = _problems(session, entered)
    if draft is None:
        ack(
            response_action="errors",
            errors={FIELD_BLOCKS.get(field, PATTERN_BLOCK): text for field, text in errors.items()},
        )
        return
    form = RuleForm(entered.rule_id, draft.kind.value, draft.pattern, draft.tool or "")
    ack(response_action="update", view=confirm_modal(form, None))
    if verdict is None and not is_admin(context.settings, client, user_id):
        log.warning("refused an AI-assisted rule from non-admin %s", user_id)
        client.views_update(view_id=view["id"], view=notice_modal(NOT_AN_ADMIN))
        return
    rule = Rule(draft.kind, draft.pattern, draft.tool, id=form.rule_id)
    try:
        with Session(context.engine) as session:
            counted = ai_marks.preview(session, rule)
    except SQLAlchemyError:
        log.exception("could not count the artifacts an AI-assisted rule matches")
        client.views_update(view_id=view["id"], view=notice_modal(COUNT_FAILED))
        return
    client.views_update(
        view_id=view["id"], view=confirm_modal(form, (counted.matches, counted.newly_marked))
    )


def submit_confirm(context: AppContext, ack: Ack, client: WebClient, body: dict[str, Any]) -> None:
    """Save: check again (the view's metadata is the caller's word), close, store."""
    user_id = _user(body)
    view = _view(body)
    verdict = known_admin(context.settings, user_id)
    if verdict is False:
        log.warning("refused an AI-assisted rule from non-admin %s", user_id)
        ack(response_action="update", view=notice_modal(NOT_AN_ADMIN))
        return
    form = form_from_metadata(view.get("private_metadata"))
    with Session(context.engine) as session:
        draft, errors = _problems(session, form)
    if draft is None:
        ack(response_action="update", view=edit_modal(form, note=next(iter(errors.values()))))
        return
    ack(response_action="clear")
    if verdict is None and not is_admin(context.settings, client, user_id):
        log.warning("refused an AI-assisted rule from non-admin %s", user_id)
        return
    try:
        with transaction(context.engine) as session:
            if form.rule_id is None:
                ai_rules.add(
                    session,
                    kind=form.kind,
                    pattern=form.pattern,
                    tool=form.tool,
                    actor=user_id,
                    now=context.clock(),
                )
            else:
                ai_rules.update(
                    session,
                    form.rule_id,
                    kind=form.kind,
                    pattern=form.pattern,
                    tool=form.tool,
                    actor=user_id,
                    now=context.clock(),
                )
    except ai_rules.RuleError as exc:  # changed by someone else since the check
        _note(client, user_id, f"The AI-assisted rule was not saved: {exc.message}")
    except SQLAlchemyError:
        log.exception("could not store an AI-assisted rule")
        _note(client, user_id, f"The AI-assisted rule was not saved: {DATABASE_FAILED}")
    publish_home(context, client, user_id)


def submit_delete(context: AppContext, ack: Ack, client: WebClient, body: dict[str, Any]) -> None:
    user_id = _user(body)
    verdict = known_admin(context.settings, user_id)
    if verdict is False:
        log.warning("refused an AI-assisted rule deletion from non-admin %s", user_id)
        ack(response_action="update", view=notice_modal(NOT_AN_ADMIN))
        return
    rule_id = form_from_metadata(_view(body).get("private_metadata")).rule_id
    if rule_id is None:
        ack(response_action="update", view=notice_modal(ai_rules.GONE))
        return
    ack(response_action="clear")
    if verdict is None and not is_admin(context.settings, client, user_id):
        log.warning("refused an AI-assisted rule deletion from non-admin %s", user_id)
        return
    try:
        with transaction(context.engine) as session:
            ai_rules.delete(session, rule_id, actor=user_id, now=context.clock())
    except ai_rules.RuleError as exc:
        _note(client, user_id, f"The AI-assisted rule was not deleted: {exc.message}")
    except SQLAlchemyError:
        log.exception("could not delete an AI-assisted rule")
        _note(client, user_id, f"The AI-assisted rule was not deleted: {DATABASE_FAILED}")
    publish_home(context, client, user_id)


def register(app: App, context: AppContext) -> None:
    def on_add(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        open_add(context, client, body)

    def on_all(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        open_all(context, client, body)

    def on_page(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        turn_page(context, client, body)

    def on_rule(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        rule_action(context, client, body)

    def on_back(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        back(context, client, body)

    def on_edit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        submit_edit(context, ack, client, body)

    def on_confirm(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        submit_confirm(context, ack, client, body)

    def on_delete(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        submit_delete(context, ack, client, body)

    app.action(ids.AI_RULE_ADD)(on_add)
    app.action(ids.AI_RULES_ALL)(on_all)
    app.action(re.compile(rf"^{ids.AI_RULES_PAGE}:\d+$"))(on_page)
    app.action(re.compile(rf"^(?:{ids.AI_RULE_SWITCH}|{ids.AI_RULE_MENU}):\d+$"))(on_rule)
    app.action(ids.AI_RULE_BACK)(on_back)
    app.view(ids.AI_RULE_EDIT_VIEW)(on_edit)
    app.view(ids.AI_RULE_CONFIRM_VIEW)(on_confirm)
    app.view(ids.AI_RULE_DELETE_VIEW)(on_delete)
