"""Re-shape some synthetic usage as real vendors send it, so the demo exercises their adapters.

Pure: generic events in, vendor payloads out. Chat usage goes through a LiteLLM gateway (its
``generic_api`` callback posts StandardLoggingPayload records); the rest stays generic.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

GATEWAY_TOOLS = ("chatgpt", "claude")


def via_gateway(event: dict[str, Any]) -> bool:
    return event["type"] == "ai.usage" and event.get("tool") in GATEWAY_TOOLS


def litellm_payload(event: dict[str, Any]) -> dict[str, Any]:
    """The StandardLoggingPayload LiteLLM logs for this usage (no prompt or completion text)."""
    usage = event["usage"]
    end = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00")).timestamp()
    prompt = usage["input_tokens"]
    completion = usage["output_tokens"]
    return {
        "id": event["id"].replace("demo_use", "chatcmpl-demo"),
        "call_type": "acompletion",
        "status": "success",
        "model": event["model"],
        "model_group": event["model"],
        "custom_llm_provider": "anthropic" if event["tool"] == "claude" else "openai",
        "startTime": end - 4.2,
        "endTime": end,
        "completionStartTime": end - 3.9,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "response_cost": float(Decimal(usage["cost_usd"])),
        "metadata": {
            "user_api_key_user_email": event["actor"]["email"],
            "user_api_key_team_alias": "ai-gateway",
            "usage_object": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "prompt_tokens_details": {"cached_tokens": usage["cached_tokens"]},
            },
        },
        "messages": [{"role": "user", "content": "(the demo sends no real prompt)"}],
        "response": {
            "choices": [{"message": {"role": "assistant", "content": "(nor a completion)"}}]
        },
    }
