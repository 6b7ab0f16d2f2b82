"""Documents as OpenAI's protocols send them: a Chat Completions ``file`` part or a Responses
``input_file``, its bytes inline as a base64 ``data:`` URL in ``file_data``. The canonical form of
a document is Anthropic's ``document`` block (a ``HostedToolBlock`` of host ``anthropic``, which
Claude reads as sent); these turn one into the other."""

from __future__ import annotations

from typing import Any

from trooper.conversation import HostedToolBlock
from trooper.errors import InvalidRequest
from trooper.wire.images import DATA_URL

#: A document's name when its client gave none.
UNNAMED = "document.pdf"


def document_from_file(file_data: str | None, filename: str | None, path: str) -> HostedToolBlock:
    """The document an OpenAI file part carries inline; a 400 for one named by ``file_id`` (Trooper
    keeps no files) or not base64."""
    if file_data is None:
        raise InvalidRequest(f"{path}.file_data: field required (Trooper has no file store: send the file inline as a data: URL)")
    match = DATA_URL.match(file_data)
    if match is None:
        raise InvalidRequest(f"{path}.file_data: must be a base64 data: URL (data:application/pdf;base64,<data>)")
    source = {"type": "base64", "media_type": match["media"] or "application/pdf", "data": match["data"]}
    document: dict[str, Any] = {"type": "document", "source": source}
    if filename:
        document["title"] = filename
    return HostedToolBlock(document, host="anthropic")


def inline_file(block: HostedToolBlock) -> tuple[str, str] | str:
    """(filename, ``data:`` URL) of a document OpenAI can be sent inline (one with base64 bytes);
    for any other (a URL, a text), the text OpenAI gets instead: its stand-in's."""
    source = block.item.get("source")
    if not isinstance(source, dict) or source.get("type") != "base64":
        stand_in = block.stand_in()
        return stand_in.text if stand_in is not None else ""
    media_type = str(source.get("media_type") or "application/pdf")
    return str(block.item.get("title") or UNNAMED), f"data:{media_type};base64,{source.get('data') or ''}"
