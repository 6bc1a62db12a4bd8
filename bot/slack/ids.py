"""Every action_id and callback_id the app uses, in one place for builders and listeners."""

from __future__ import annotations

DIGEST_USEFUL = "digest_useful"
DIGEST_NOT_USEFUL = "digest_not_useful"
DIGEST_SNOOZE = "digest_snooze"
DIGEST_SHARE = "digest_share_with_lead"
DIGEST_DETAILS = "digest_details"

HOME_EXPORT = "home_export_my_data"
HOME_DELETE = "home_delete_my_data"
HOME_OPT_OUT = "home_toggle_opt_out"
HOME_UNSNOOZE = "home_unsnooze"
HOME_EDIT_THRESHOLDS = "home_edit_thresholds"

DELETE_CONFIRM_VIEW = "delete_my_data_confirm"
THRESHOLDS_VIEW = "admin_thresholds"
DETAILS_VIEW = "digest_details_modal"

# Teams and leads (admin): the App Home button opens the teams modal.
ADMIN_TEAMS = "admin_teams"
TEAMS_VIEW = "admin_teams_modal"

COMMAND = "/ai-roi"

# My settings (App Home, everyone).
HOME_MY_SETTINGS = "home_my_settings"
MY_SETTINGS_VIEW = "home_my_settings_modal"

# Admin settings (App Home admin section): one button and one modal per group of
# bot.domain.workspace_settings.SETTINGS, named after the group (the thresholds keep older ids).
ADMIN_MIN_GROUP_SIZE = "admin_min_group_size"
ADMIN_SCHEDULE = "admin_default_schedule"
ADMIN_LLM = "admin_llm"
ADMIN_RETENTION = "admin_retention"
ADMIN_DIGEST_GRACE = "admin_digest_grace"
MIN_GROUP_SIZE_VIEW = "admin_min_group_size_modal"
SCHEDULE_VIEW = "admin_default_schedule_modal"
LLM_VIEW = "admin_llm_modal"
RETENTION_VIEW = "admin_retention_modal"
DIGEST_GRACE_VIEW = "admin_digest_grace_modal"


def admin_action(group: str) -> str:
    """The action_id of the App Home button that opens the admin modal for ``group``."""
    return HOME_EDIT_THRESHOLDS if group == "thresholds" else f"admin_{group}"


def admin_view(group: str) -> str:
    """The callback_id of the admin modal for ``group``."""
    return THRESHOLDS_VIEW if group == "thresholds" else f"admin_{group}_modal"


# Inside the teams modal (TEAMS_VIEW): user groups as teams, and leads for a team.
TEAMS_USERGROUPS = "teams_usergroups"
TEAMS_MORE_USERGROUPS = "teams_more_usergroups"
TEAMS_PICK_TEAM = "teams_pick_team"
TEAMS_LEADS = "teams_leads"
TEAMS_PAGE = "teams_page"

# AI-assisted rules (App Home admin section). Per-rule ids end in ":<rule id>", page buttons in
# ":<page>".
AI_RULE_ADD = "admin_ai_rule_add"
AI_RULES_ALL = "admin_ai_rules_all"
AI_RULE_MENU = "admin_ai_rule_menu"
AI_RULE_SWITCH = "admin_ai_rule_switch"
AI_RULES_PAGE = "admin_ai_rules_page"
AI_RULE_BACK = "admin_ai_rule_back"
AI_RULES_VIEW = "admin_ai_rules_modal"
AI_RULE_EDIT_VIEW = "admin_ai_rule_edit_modal"
AI_RULE_CONFIRM_VIEW = "admin_ai_rule_confirm_modal"
AI_RULE_DELETE_VIEW = "admin_ai_rule_delete_modal"
AI_RULE_NOTICE_VIEW = "admin_ai_rule_notice_modal"
