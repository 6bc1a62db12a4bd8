"""Draw a person's 8-week chart and upload it to Slack, or say why not, without ever holding up
their digest: a chart that cannot be uploaded now is left out and the DM carries its text line.

Uploads have their own rate tier (Tier 4, 100 a minute per method, ``web_api.UploadGates``),
apart from ``chat.postMessage``, and a DM never waits for them: a chart is uploaded only when the
upload gate lets it through at once (``RateGate.try_pass``: no ``Retry-After`` in force and the
method's pace allows it now). At the default pace of DMs (60 a minute) every chart fits; a run
sending faster shows the chart in as many DMs as the upload tier allows, and the text in the
others, instead of slowing every DM to the upload rate. Each step is tried once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx
from slack_sdk import WebClient

from bot.domain.ai_history import AiWeek, alt_text, chart_title, has_ai_artifacts
from bot.errors import OutboundError
from bot.outbound.clients import http_client
from bot.slack import web_api
from bot.slack.chart import filename, render_chart

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class ChartUploader:
    """Uploads charts with the app's Web API client; each upload's bytes go out on an HTTP client
    of their own, closed after it (uploads are a hundred a minute at most: a pool would idle)."""

    def __init__(
        self,
        client: WebClient,
        *,
        gates: web_api.UploadGates | None = None,
    ) -> None:
        self.client = client
        self.gates = gates or web_api.UploadGates.shared()

    def upload(self, history: Sequence[AiWeek]) -> str | None:
        """The Slack file id of ``history``'s chart, or ``None`` when there is nothing to draw
        or it could not be uploaded now (logged with the reason, never the person)."""
        if not history or not has_ai_artifacts(history):
            return None
        waiting = self.gates.blocked_for()
        if waiting > 0:
            log.info("chart left out: file uploads are rate limited for %.1f s more", waiting)
            return None
        if not self.gates.get_url.try_pass():
            log.debug("chart left out: the upload rate is spent for this moment")
            return None
        try:
            with http_client(self.client.base_url, timeout=UPLOAD_TIMEOUT) as uploads:
                file_id = web_api.upload_file(
                    self.client,
                    uploads,
                    filename=filename(history[-1].week),
                    content=render_chart(history),
                    title=chart_title(history),
                    alt_text=alt_text(history),
                    gates=self.gates,
                    url_turn_taken=True,
                )
        except OutboundError as exc:
            log.warning("chart left out: upload failed (%s)", exc.code or type(exc).__name__)
            return None
        except Exception:  # the chart is an extra: no fault of its own may hold the digest back
            log.exception("chart left out: drawing or uploading it failed")
            return None
        return file_id
