"""Calling a hosted agent's endpoint for one version, as a smoke test does.

Responses go through the OpenAI client that ``AIProjectClient.get_openai_client(agent_name=...)``
makes (its bearer token, ``api-version`` and feature header); Invocations are a POST to
``{endpoint}/agents/{agent}/endpoint/protocols/invocations`` with a bearer token from the
deployer's credential and the preview's ``Foundry-Features`` header. Either way the request names
the version in its body (``agent_reference: {name, version}``), so the version answers whatever
the selector says.
Nothing here raises for the endpoint's own failures: they are in the :class:`InvokeReply`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential

from deployer.domain.errors import PlatformError
from deployer.domain.platform import InvokeReply, InvokeRequest

if TYPE_CHECKING:
    from azure.ai.projects import AIProjectClient

#: The token audience of Foundry's data plane (the one ``get_openai_client`` uses).
AI_SCOPE = "https://ai.azure.com/.default"
API_VERSION = "v1"
#: The opt-in header of the hosted-agents preview, which Invocations calls need (the OpenAI client
#: that ``get_openai_client`` makes sends it for Responses).
PREVIEW_HEADER = {"Foundry-Features": "HostedAgents=V1Preview"}


def agent_reference(agent: str, version: str) -> dict[str, str]:
    """The body field that addresses one version of an agent."""
    return {"type": "agent_reference", "name": agent, "version": version}


def invoke_responses(client: AIProjectClient, agent: str, request: InvokeRequest) -> InvokeReply:
    """One Responses call through the OpenAI client, without the client's own retries."""
    import openai

    started = time.monotonic()
    openai_client = client.get_openai_client(agent_name=agent, max_retries=0, timeout=request.timeout_s)
    try:
        raw = openai_client.responses.with_raw_response.create(
            input=str(request.payload),
            extra_body={"agent_reference": agent_reference(agent, request.version)},
        )
        return _reply(raw.http_response.status_code, raw.http_response.text, started)
    except openai.APIStatusError as exc:
        return _reply(exc.status_code, exc.response.text, started)
    except openai.APITimeoutError:
        return _failed(f"no answer within {request.timeout_s:g} s", started)
    except openai.APIConnectionError as exc:
        return _failed(f"could not connect: {exc}", started)
    finally:
        openai_client.close()


def invoke_invocations(
    endpoint: str, credential: TokenCredential, agent: str, request: InvokeRequest
) -> InvokeReply:
    """One Invocations call: the configured JSON body with the version's ``agent_reference``."""
    import requests

    body: dict[str, Any] = dict(_as_mapping(request.payload))
    body["agent_reference"] = agent_reference(agent, request.version)
    url = f"{endpoint.rstrip('/')}/agents/{agent}/endpoint/protocols/invocations"
    token = _token(credential)
    started = time.monotonic()
    try:
        answer = requests.post(
            url,
            params={"api-version": API_VERSION},
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                **PREVIEW_HEADER,
            },
            data=json.dumps(body),
            timeout=request.timeout_s,
        )
    except requests.Timeout:
        return _failed(f"no answer within {request.timeout_s:g} s", started)
    except requests.RequestException as exc:
        return _failed(f"could not connect: {exc}", started)
    return _reply(answer.status_code, answer.text, started)


def _token(credential: TokenCredential) -> str:
    """A bearer token for the data plane; no token is the deployer's problem, not the agent's,
    so it is a retryable :class:`PlatformError` (the poll looks again), not a failed attempt."""
    from azure.core.exceptions import AzureError

    try:
        return credential.get_token(AI_SCOPE).token
    except AzureError as exc:
        raise PlatformError(
            code="CredentialUnavailable", message=str(exc)[:500], status_code=None, retryable=True
        ) from exc


def _as_mapping(payload: object) -> Mapping[str, Any]:
    if isinstance(payload, Mapping):
        return payload
    parsed = json.loads(str(payload)) if payload else {}
    return parsed if isinstance(parsed, dict) else {"input": parsed}


def _reply(status: int, text: str, started: float) -> InvokeReply:
    return InvokeReply(status_code=status, body=text, latency_ms=_since(started))


def _failed(error: str, started: float) -> InvokeReply:
    return InvokeReply(status_code=None, body="", latency_ms=_since(started), error=error[:500])


def _since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
