"""The privacy rule of routing (``TROOPER_PRIVACY``): a turn holding a secret or personal data is
answered on this machine, and so is every later turn of its session, since the history the next
turn resends holds it too.

``privacy_check`` looks at what the session has not seen (its new messages, a system prompt it
has not had before), records each finding as an event (its kind and turn, never its value), pins
the session local at the first finding, and says which kind keeps the turn local; ``private_plan``
then has the router plan the local tier alone (or refuse if there is none), or, under ``redact``,
gives the plan the placeholders the cloud gets instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from trooper.config import Settings
from trooper.conversation import Message, Request
from trooper.privacy.placeholders import Placeholders, Redactor
from trooper.privacy.turns import TurnFinding, find_in_system, find_in_turns, prompt_digest, unseen_from
from trooper.routing.router import Plan, Router, TurnRecorder
from trooper.store.base import PINNED_EVENT

#: ``PINNED_EVENT`` pins a session local; ``pinned_kind`` finds it again after a restart, and the
#: store's session summaries name its finding (``private``).
FINDING_EVENT = "privacy_finding"
OVERRIDE_EVENT = "privacy_overridden"
#: A person confirmed sending a pinned session to the cloud (the chat page's escalation).
CONFIRMED_EVENT = "privacy_escalation_confirmed"


class PrivateSession(Protocol):
    messages: list[Message]
    #: The kind of the finding that pinned the session local; None while it is not pinned.
    private: str | None
    #: Its values and their placeholders, under ``redact``.
    placeholders: Placeholders
    #: The digest of the last system prompt scanned (``prompt_digest``); None: none yet.
    system_scanned: bytes | None


@dataclass(frozen=True)
class PrivacyCheck:
    #: The kind that keeps this turn on this machine (the session's pin); None: the cloud may answer.
    local_kind: str | None
    #: Under ``redact``: placeholders for what goes to the cloud, values back in the answer.
    redactor: Redactor | None = None


def privacy_check(
    settings: Settings, session: PrivateSession, request: Request, forced: str | None, recorder: TurnRecorder
) -> PrivacyCheck:
    """Find private data in the turns ``session`` has not seen; under ``local`` pin the session."""
    if settings.privacy == "off":
        return PrivacyCheck(None)
    start = unseen_from(len(session.messages), request.messages)
    findings = [*_new_system_findings(session, request, settings), *find_in_turns(request.messages, start, settings.private_rules)]
    for found in findings:
        recorder.event(FINDING_EVENT, **found.describe())
    if settings.privacy == "redact":
        return PrivacyCheck(None, Redactor(session.placeholders, settings.private_rules))
    if session.private is None and findings:
        first = findings[0]
        session.private = first.finding.kind
        recorder.event(PINNED_EVENT, finding=first.finding.kind, turn=first.turn)
    if session.private is not None and forced == "cloud" and settings.privacy_allow_force:
        recorder.event(OVERRIDE_EVENT, finding=session.private, turn=len(request.messages) - 1)
        return PrivacyCheck(None)
    return PrivacyCheck(session.private)


def _new_system_findings(session: PrivateSession, request: Request, settings: Settings) -> list[TurnFinding]:
    """The findings in the system prompt when the session has not seen this prompt before: its
    findings are recorded and pin the session once; an unchanged prompt is not scanned again."""
    if not request.system:
        return []
    digest = prompt_digest(request.system)
    if digest == session.system_scanned:
        return []
    session.system_scanned = digest
    return find_in_system(request.system, settings.private_rules)


def private_plan(
    router: Router, settings: Settings, session: PrivateSession, request: Request, recorder: TurnRecorder,
    forced: str | None = None, *, escalate: bool = False, confirmed: bool = False,
) -> Plan:
    """The router's plan for a turn under the privacy policy: local alone for a pinned session
    (unless a person ``confirmed`` an escalation, which is recorded), placeholders under ``redact``."""
    check = privacy_check(settings, session, request, forced, recorder)
    private = check.local_kind
    if private is not None and escalate and confirmed:
        recorder.event(CONFIRMED_EVENT, finding=private, turn=len(request.messages) - 1)
        private = None
    plan = router.plan(request, forced, escalate=escalate, private=private)
    plan.redactor = check.redactor
    return plan


def holds_private_data(settings: Settings, request: Request) -> bool:
    """Whether ``request``'s system prompt or any of its messages holds private data (for calls that
    are not turns, such as counting tokens, which must not send it upstream either)."""
    if settings.privacy == "off":
        return False
    rules = settings.private_rules
    return bool(find_in_system(request.system, rules) or find_in_turns(request.messages, 0, rules))


def pinned_kind(events: list[dict[str, object]]) -> str | None:
    """The kind that pinned a session, from its stored events (None: never pinned)."""
    for event in events:
        if event.get("kind") == PINNED_EVENT:
            detail = event.get("detail")
            if isinstance(detail, dict):
                return str(detail.get("finding") or "private data")
    return None


def privacy_summary(settings: Settings) -> dict[str, object]:
    """The policy in force, for ``/health`` and ``trooper doctor`` (the owner's rules counted,
    never shown: a pattern may spell out what it guards)."""
    rules = settings.private_rules
    return {
        "policy": settings.privacy,
        "allow_force": settings.privacy_allow_force,
        "store_personal": settings.privacy_store_personal,
        "private_patterns": len(rules.patterns),
        "private_paths": len(rules.paths),
    }


def describe_policy(settings: Settings) -> str:
    """One line saying what happens to a turn holding private data."""
    what = {
        "local": "turns holding secrets or personal data are answered locally and pin their session local",
        "redact": "the cloud gets placeholders for secrets and personal data; answers get the values back",
        "off": "no detection: private data goes wherever the turn is routed",
    }[settings.privacy]
    rules = settings.private_rules
    extra = f"; {len(rules.patterns)} private pattern(s), {len(rules.paths)} private path glob(s)" if rules else ""
    force = "; X-Trooper-Route: cloud may override" if settings.privacy == "local" and settings.privacy_allow_force else ""
    return f"TROOPER_PRIVACY={settings.privacy}: {what}{extra}{force}"


def private_findings(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings a session's stored events list (kind and turn), each kind and turn once."""
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for event in events:
        detail = event.get("detail")
        if event.get("kind") == FINDING_EVENT and isinstance(detail, dict):
            key = (str(detail.get("finding")), int(detail.get("turn") or 0))
            seen.setdefault(key, {"finding": key[0], "category": detail.get("category", ""), "turn": key[1]})
    return list(seen.values())
