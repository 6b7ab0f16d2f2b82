"""What the store keeps of private data: secrets masked (``[REDACTED:aws_access_key]``), personal
data masked too unless ``TROOPER_PRIVACY_STORE_PERSONAL`` keeps it. Applied to each turn's blocks
and to each SITREP as they are written, so the SQLite file, the pages, the DataFrames and the
``/recovery`` context (all read from the store) never hold a secret in clear."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Collection
from typing import Any

from trooper.config import Settings
from trooper.conversation import IDENTIFIER_KEYS, OPAQUE_KEYS, Message, block_from_dict, block_to_dict
from trooper.json_text import map_strings, map_strings_shared
from trooper.privacy.custom import CustomRules
from trooper.privacy.detect import detect
from trooper.privacy.findings import Finding, replace_findings

#: Texts already masked, by content: a reloaded session's history is compared masked on each turn.
_CACHE_SIZE = 4096
#: Secret values remembered once found in context, to mask wherever they appear alone again.
_SECRETS_KEPT = 1024
#: Shorter values ("password=abc") are masked where found, not remembered: alone they are words.
_SECRET_MIN_CHARS = 8


#: The keys of a stored block, or of an OpenAI item it carries, that name it or the call it
#: answers (``ToolUseBlock.id``, ``ToolResultBlock.tool_use_id``, an item's ``id``/``call_id``):
#: identifiers, never a person's text.
_BLOCK_IDS = IDENTIFIER_KEYS
#: Where a block carries an OpenAI item verbatim (``HostedToolBlock.item``, ``ThinkingBlock.openai_item``).
_CARRIED_ITEMS = ("item", "openai_item")


def _keep_ids(masked: dict[str, Any], original: dict[str, Any]) -> None:
    """``masked`` (a block or item the store mask walked) with ``original``'s own ids back."""
    masked.update((key, original[key]) for key in _BLOCK_IDS if key in original)


class StoreMask:
    def __init__(self, rules: CustomRules, *, keep_personal: bool) -> None:
        self.rules = rules
        self.keep_personal = keep_personal
        self._masked: OrderedDict[str, str] = OrderedDict()
        #: A secret found in context ("aws_secret_access_key=…") → its label: the value alone (a
        #: SITREP entity read from that line) is no longer recognisable, so it is masked by value.
        self._secrets: OrderedDict[str, str] = OrderedDict()
        self._secret_values: re.Pattern[str] | None = None
        #: How many times it learned secret values: what it masked before may be masked otherwise now.
        self.learned = 0
        #: Texts it leaves as they are, as far as it knows now (forgotten when it learns): a walk
        #: with ``share`` passes over them without a call each (a kept response's own words).
        self._as_is: set[str] = set()

    @classmethod
    def of(cls, settings: Settings) -> StoreMask | None:
        """The mask ``settings`` ask for; None when privacy is off (today's store)."""
        if settings.privacy == "off":
            return None
        return cls(settings.private_rules, keep_personal=settings.privacy_store_personal)

    def text(self, text: str) -> str:
        masked = self._masked.get(text)
        if masked is None:
            masked = self._masked[text] = self._mask(text)
            if len(self._masked) > _CACHE_SIZE:
                self._masked.popitem(last=False)
            if masked == text:  # masking it found no secret, so learned nothing
                if len(self._as_is) >= _CACHE_SIZE:
                    self._as_is.clear()
                self._as_is.add(text)
        return masked

    def _mask(self, text: str) -> str:
        findings = detect(text, self.rules)
        learned = {
            text[f.start : f.end]: f"[REDACTED:{f.kind}]"
            for f in findings
            if f.category == "secret" and f.end - f.start >= _SECRET_MIN_CHARS
        }
        if learned.keys() - self._secrets.keys():
            self._remember(learned)
        masked = replace_findings(text, findings, self._label)
        if self._secret_values is None:
            return masked
        return self._secret_values.sub(lambda match: self._secrets[match.group()], masked)

    def _remember(self, secrets: dict[str, str]) -> None:
        self.learned += 1
        self._secrets.update(secrets)
        while len(self._secrets) > _SECRETS_KEPT:
            self._secrets.popitem(last=False)
        # Longest first, so a value holding another is masked whole.
        self._secret_values = re.compile("|".join(map(re.escape, sorted(self._secrets, key=len, reverse=True))))
        self._masked.clear()  # a text kept as it was may hold a value known only now
        self._as_is.clear()

    def _label(self, found: Finding) -> str | None:
        return None if found.category == "personal" and self.keep_personal else f"[REDACTED:{found.kind}]"

    def data(self, value: Any, *, skip: Collection[str] = (), share: bool = False) -> Any:
        """``value`` (stored blocks, a SITREP) with every string in it masked but what its objects
        hold under a key in ``skip`` or in ``OPAQUE_KEYS`` (a false match would corrupt the blob
        a continuation read from the store sends back). With ``share``, what the mask leaves as it
        is comes back as the very object (``map_strings_shared``): ``data(v, share=True) is v``
        when nothing in ``v`` is masked; texts it is known to leave as they are are not looked up."""
        skip = OPAQUE_KEYS.union(skip) if skip else OPAQUE_KEYS
        if share:
            return map_strings_shared(value, self.text, skip=skip, as_is=self._as_is)
        return map_strings(value, self.text, skip=skip)

    def message(self, message: Message) -> Message:
        """``message`` as the store keeps it (and gives it back after a restart): its blocks' own
        ids as they came (a random ``toolu_…`` may hold a digit run a card number's check accepts,
        and a masked id no longer pairs a tool call with its result nor matches the history a
        client resends), what the blocks hold masked, ids within a tool's input included."""
        return Message(message.role, [block_from_dict(self._block(block_to_dict(block))) for block in message.content])

    def _block(self, block: dict[str, Any]) -> dict[str, Any]:
        masked: dict[str, Any] = self.data(block)
        _keep_ids(masked, block)
        for key in _CARRIED_ITEMS:
            if isinstance(block.get(key), dict):
                _keep_ids(masked[key], block[key])
        return masked
