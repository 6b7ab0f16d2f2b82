"""Images as OpenAI's protocols send them: a URL, or inline bytes as a base64 ``data:`` URL."""

from __future__ import annotations

import re

from trooper.conversation import ImageBlock
from trooper.errors import InvalidRequest

DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+)?(?:;[^;,]*)*?;base64,(?P<data>.*)$", re.DOTALL)


def decode_image_url(url: str, path: str) -> ImageBlock:
    """The image ``url`` names: inline bytes for a ``data:`` URL, else the URL itself."""
    if not url.startswith("data:"):
        return ImageBlock(url=url)
    match = DATA_URL.match(url)
    if match is None:
        raise InvalidRequest(f"{path}: a data: URL must be base64-encoded (data:<media type>;base64,<data>)")
    return ImageBlock(media_type=match["media"] or "image/png", data=match["data"])
