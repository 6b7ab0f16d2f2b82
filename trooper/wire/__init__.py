"""Wire codecs: one module per protocol, each translating to and from ``trooper.conversation``.

Every codec module (``anthropic``, ``openai``, ``ollama``) exposes the same names:
``decode_request``, ``encode_request``, ``decode_response``, ``encode_response``,
``StreamDecoder``, ``StreamEncoder``, ``encode_error`` and ``decode_error``. Gemini is served by the
``openai`` codec through Google's OpenAI-compatible endpoint (its quirks are handled there).
``responses`` (OpenAI's Responses API) faces clients only: ``decode_request``, ``encode_response``,
``StreamEncoder`` and ``encode_error``, the last three taking the response's ``Envelope`` (its id
and what it echoes of its request). ``codec.py`` states these roles as Protocols
(``UpstreamCodec``, ``DoorCodec``, ``AnswerCodec``) that mypy checks each module against where a
provider or a front door takes it.
"""

from trooper.wire.errors import UpstreamStreamError, WireError

__all__ = ["UpstreamStreamError", "WireError"]
