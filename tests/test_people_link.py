"""Linking a Slack user to a person: concurrent first sightings of the same new person (two App
Home publishes at once) create one person, and neither request fails."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.store.db import transaction
from bot.store.models import Person
from bot.store.people import link_slack_user

SENDERS = 8


def test_concurrent_links_of_a_new_person_create_one_row_and_all_succeed(engine: Engine) -> None:
    start = threading.Barrier(SENDERS)
    errors: list[BaseException] = []

    def link() -> None:
        try:
            start.wait()
            with transaction(engine) as session:
                link_slack_user(
                    session,
                    email="new@example.com",
                    slack_user_id="UNEW",
                    name="New Person",
                    tz="Europe/Berlin",
                    is_admin=False,
                )
        except BaseException as exc:  # collected: the assertion names what failed
            errors.append(exc)

    threads = [threading.Thread(target=link) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with Session(engine) as session:
        people = session.exec(select(Person).where(col(Person.email) == "new@example.com")).all()
    assert [(p.slack_user_id, p.tz) for p in people] == [("UNEW", "Europe/Berlin")]
