"""Everything ai-roi holds about one person, as JSON (App Home "Export my data")."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from bot.store.models import Delivery, Event, Identity, Person


def export_person(session: Session, person: Person) -> dict[str, Any]:
    events = session.exec(
        select(Event).where(Event.person_id == person.id).order_by(col(Event.occurred_at))
    )
    return {
        "person": {
            "email": person.email,
            "name": person.name,
            "slack_user_id": person.slack_user_id,
            "time_zone": person.tz,
            "opted_out": person.opted_out,
            "snoozed_until": person.snoozed_until.isoformat() if person.snoozed_until else None,
        },
        "identities": [
            {"kind": i.kind, "value": i.value}
            for i in session.exec(select(Identity).where(Identity.person_id == person.id))
        ],
        "events": [
            {
                "source": e.source,
                "type": e.type,
                "occurred_at": e.occurred_at.isoformat(),
                "tool": e.tool,
                "model": e.model,
                "input_tokens": e.input_tokens,
                "cached_tokens": e.cached_tokens,
                "output_tokens": e.output_tokens,
                "cost_nanousd": e.cost_nanos,
                "requests": e.requests,
            }
            for e in events
        ],
        "digests": [
            {"week": d.week, "status": d.status, "text": d.text, "feedback": d.feedback}
            for d in session.exec(select(Delivery).where(Delivery.person_id == person.id))
        ],
    }
