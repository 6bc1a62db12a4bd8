"""Database errors never carry statement parameters: the values of a failed statement (a person's
name, numbers) cannot reach a log line or an error message through it. (PostgreSQL's own DETAIL
line may still name the conflicting key; the CLI and the HTTP edge print only the first line.)"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.db import transaction
from bot.store.models import Person


def test_a_failed_insert_names_no_value(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(Person(email="secret.person@example.com", name="Ana"))
    with pytest.raises(sa.exc.IntegrityError) as failed, transaction(engine) as session:
        session.add(Person(email="secret.person@example.com", name="Ana again"))
    assert "Ana again" not in str(failed.value)
    assert "hidden due to hide_parameters" in str(failed.value)
