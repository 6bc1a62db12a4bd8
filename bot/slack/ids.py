"""Every action_id and callback_id the app uses, in one place for builders and listeners."""

from __future__ import annotations

DIGEST_USEFUL = "digest_useful"
DIGEST_NOT_USEFUL = "digest_not_useful"
DIGEST_SNOOZE = "digest_snooze"
DIGEST_SHARE = "digest_share_with_lead"
DIGEST_DETAILS = "digest_details"

DIGEST_ACTIONS = (DIGEST_USEFUL, DIGEST_NOT_USEFUL, DIGEST_SNOOZE, DIGEST_SHARE, DIGEST_DETAILS)

HOME_EXPORT = "home_export_my_data"
HOME_DELETE = "home_delete_my_data"
HOME_OPT_OUT = "home_toggle_opt_out"
HOME_UNSNOOZE = "home_unsnooze"
HOME_EDIT_THRESHOLDS = "home_edit_thresholds"

DELETE_CONFIRM_VIEW = "delete_my_data_confirm"
THRESHOLDS_VIEW = "admin_thresholds"
DETAILS_VIEW = "digest_details_modal"

HOME_ACTIONS = (HOME_EXPORT, HOME_DELETE, HOME_OPT_OUT, HOME_UNSNOOZE, HOME_EDIT_THRESHOLDS)
VIEW_CALLBACKS = (DELETE_CONFIRM_VIEW, THRESHOLDS_VIEW)

# Teams and leads (admin): the App Home button opens the teams modal.
ADMIN_TEAMS = "admin_teams"
TEAMS_VIEW = "admin_teams_modal"

COMMAND = "/ai-roi"
