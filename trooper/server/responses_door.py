"""The OpenAI Responses API front door: ``POST /v1/responses`` and ``GET /v1/responses/{id}``.

A ``FrontDoor`` like the other two, differing in its codec and its edges. Its responses carry an
envelope (an id Trooper mints, and what they echo of their request). A request naming
``previous_response_id`` continues the conversation that response answered: in its session, with
the history up to that answer put before the new input (the upstream still gets the whole
conversation; instructions are the new request's own, as in OpenAI's API). Each answered response
is kept with its turn unless the request said ``store: false``, so it can be continued and
``GET /v1/responses/{id}`` returns it, after a restart too; its turns are recorded either way.
A request offering OpenAI's built-in tools that nobody may run is refused before its session is
opened, so nothing of it is recorded, as for any other bad request.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from trooper.conversation import Request, Response
from trooper.engine.sessions import LiveSession, TurnPlace
from trooper.errors import TrooperError
from trooper.server.base import BaseHandler
from trooper.server.proxy import FrontDoor, openai_client_key
from trooper.server.response_log import ResponseLog
from trooper.wire import responses
from trooper.wire.codec import StreamEncoding


class ResponsesHandler(FrontDoor):
    """``POST /v1/responses`` and ``/responses``."""

    codec = responses
    source = "responses"
    envelope: responses.Envelope
    #: The last answer encoded, with its encoding and that encoding's JSON text.
    _encoded: tuple[Response, dict[str, Any], str] | None = None
    #: A stream's encoder, which encodes its final response once, for the client and for the log.
    _streaming: responses.StreamEncoder | None = None

    @property
    def log(self) -> ResponseLog:
        log = self.services.responses
        return log

    def client_key(self) -> str | None:
        return openai_client_key(self.request.headers)

    async def decode(self, body: dict[str, Any]) -> tuple[Request, str | None]:
        request = responses.decode_request(body)
        self.envelope = responses.envelope_for(body)
        previous = self.envelope.previous_response_id
        if previous is None:
            return request, None
        place = await self.log.place(previous)
        if place is None:
            raise TrooperError(400, f"Previous response with id '{previous}' not found.", responses.PREVIOUS_RESPONSE_NOT_FOUND)
        history = await self.services.sessions.history_at(place, self.source)
        return replace(request, messages=[*history, *request.messages]), place.session_id

    def stream_encoder(self, request: Request) -> StreamEncoding:
        self._streaming = responses.StreamEncoder(self.envelope)
        return self._streaming

    def encode_response(self, response: Response) -> dict[str, Any]:
        return self._encoding(response)[0]

    def response_text(self, response: Response) -> str:
        return self._encoding(response)[1]

    def _encoding(self, response: Response) -> tuple[dict[str, Any], str]:
        # A kept response is encoded and serialised when its turn is recorded (``answered``; a
        # stream's encoder does the same for its last event), and the body sent is the same
        # answer: one encoding, one JSON text, serve both.
        encoded = self._encoded
        if encoded is None or encoded[0] is not response:
            encoded = self._encoded = (response, *responses.encoded(response, self.envelope))
        return encoded[1], encoded[2]

    def answered(self, session: LiveSession, place: TurnPlace, response: Response) -> None:
        if self.envelope.store:
            encoded = self._encoding(response) if self._streaming is None else self._streaming.final(response)
            self.log.keep(self.envelope.id, place, *encoded)


class StoredResponseHandler(BaseHandler):
    """``GET /v1/responses/{id}`` and ``/responses/{id}``: a kept response, as its client received it."""

    def error_body(self, status: int, error_type: str, message: str) -> dict[str, Any]:
        return responses.encode_error(status, error_type, message)

    async def get(self, response_id: str) -> None:
        log = self.services.responses
        kept = await log.get(response_id)
        if kept is None:
            raise TrooperError(404, f"Response with id '{response_id}' not found.", "not_found_error")
        self.set_header("X-Trooper-Session", kept["session_id"])
        self.write_json(kept["body"])


ROUTES = [
    (r"/v1/responses", ResponsesHandler),
    (r"/responses", ResponsesHandler),
    (r"/v1/responses/([^/]+)", StoredResponseHandler),
    (r"/responses/([^/]+)", StoredResponseHandler),
]
