"""``/api/cloud-keys``: which cloud providers have a key (GET), and adding one while the server
runs (POST ``{"provider": "claude", "key": "...", "save": false}``). Behind the same access gate as
every route (the token, the cross-site and host checks); JSON only. No answer holds a key."""

from __future__ import annotations

from trooper.errors import InvalidRequest
from trooper.server.body import LimitedBodyHandler
from trooper.server.cloud_keys import CloudKeys, check_key

#: A key of the longest accepted length, escaped, with room for the other fields.
MAX_KEYS_BODY_BYTES = 16 * 1024


class CloudKeysHandler(LimitedBodyHandler):
    def body_limit(self) -> int:
        return MAX_KEYS_BODY_BYTES

    @property
    def cloud_keys(self) -> CloudKeys:
        return self.services.cloud_keys

    def get(self) -> None:
        self.write_json(self.cloud_keys.status())

    async def post(self) -> None:
        self.require_json_content_type("the key")
        self.read_body()
        body = self.json_body()
        provider, key = check_key(body.get("provider"), body.get("key"))
        save = body.get("save", False)
        if not isinstance(save, bool):
            raise InvalidRequest("save: expected true or false")
        await self.cloud_keys.add(provider, key, save=save)
        self.write_json({**self.cloud_keys.status(), "added": provider, "saved": save})


ROUTES = [(r"/api/cloud-keys", CloudKeysHandler)]
