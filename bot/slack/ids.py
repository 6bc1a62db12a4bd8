"""Every action_id and callback_id the app uses, in one place for builders and listeners."""

from __future__ import annotations

DIGEST_USEFUL = "digest_useful"
DIGEST_NOT_USEFUL = "digest_not_useful"
DIGEST_SNOOZE = "digest_snooze"
DIGEST_SHARE = "digest_share_with_lead"
DIGEST_DETAILS = "digest_details"

DIGEST_ACTIONS = (DIGEST_USEFUL, DIGEST_NOT_USEFUL, DIGEST_SNOOZE, DIGEST_SHARE, DIGEST_DETAILS)
