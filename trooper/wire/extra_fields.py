"""The fields of an OpenAI door's body that Trooper does not read (``Request.extra_fields``), and
the upstreams that get them as sent.

The Chat Completions and Responses doors dropped them without a word: a local server's extensions
sent through the OpenAI SDK's ``extra_body`` (``min_p``, ``repetition_penalty``,
``chat_template_kwargs`` such as ``{"enable_thinking": false}`` for Qwen3, ``guided_json``…), and
OpenAI's newest parameters until a release of Trooper named them. (The Messages door passes
Claude's on the same way: ``anthropic_options.py``.)

They go, as sent, to an upstream speaking the OpenAI API they are named in:

- a local OpenAI-compatible server (spoken to by Chat Completions), from either door: they are
  most often its own extensions, which it names alike in both APIs;
- OpenAI, when the client named the OpenAI model that answers (``meant_for``: a turn that reaches
  OpenAI from a model named elsewhere, escalated or fallen back from a local server, carries that
  server's extensions, which OpenAI would refuse), in the API of the body that held them: a Chat
  Completions body's by Chat Completions, a Responses body's by the Responses API, which then
  answers the turn (``uses_responses_api``). A
  Chat Completions body's are left out when OpenAI answers by its Responses API (a model only it
  serves): the two APIs give one name different meanings (``tools``, ``text``…), so a field of
  one means nothing sure in the other.

Claude, Gemini, Ollama and the embedded model never get them: they mean nothing there. OpenAI
refuses a field it does not know (400): that is the client's, surfaced as it is, never a failure
to fall back on (``routing/policy.py``), as Claude's is at the Messages door. What Trooper writes
in a body itself keeps its value over a field of the same name.
"""

from __future__ import annotations

from typing import Any

from trooper.conversation import ExtraFields, OpenAIApi, Request
from trooper.wire import fields as f


def kept(api: OpenAIApi, body: dict[str, Any], read: frozenset[str]) -> ExtraFields | None:
    """The fields of ``body``, a body of ``api``, that its door does not read (``read``); None when it holds none."""
    unread = f.unknown(body, read)
    return ExtraFields(api, unread) if unread else None


def named_in(request: Request, api: OpenAIApi) -> bool:
    """Whether ``request`` carries fields a body of ``api`` named."""
    return request.extra_fields is not None and request.extra_fields.api == api


def add(body: dict[str, Any], request: Request, api: OpenAIApi, *, either_api: bool = False) -> None:
    """``request``'s fields added to ``body``, a request of ``api``: those a body of that API named
    (of either API, with ``either_api``: a local server)."""
    extra = request.extra_fields
    if extra is None or not (either_api or extra.api == api):
        return
    for name, value in extra.fields.items():
        body.setdefault(name, value)


def meant_for(request: Request, model: str) -> bool:
    """Whether OpenAI, asked for ``model``, is who the fields were meant for: the client named that
    model (``upstream_model`` sent it as asked)."""
    return request.extra_fields is not None and model == request.model
