from hypothesis import given, settings
from hypothesis import strategies as st

from trooper.wire.sse import SSEFrame, SSEParser, format_sse

STREAM = (
    ": keep-alive\r\n"
    "event: message_start\r\n"
    "data: {\"a\":\r\n"
    "data: 1}\r\n"
    "\r\n"
    "data: héllo ✓\n"
    "\n"
    "event: ping\r"
    "data:no-space\r"
    "\r"
).encode()

EXPECTED = [SSEFrame("message_start", '{"a":\n1}'), SSEFrame(None, "héllo ✓"), SSEFrame("ping", "no-space")]


def test_parses_crlf_cr_lf_multiline_data_and_comments() -> None:
    assert SSEParser().feed(STREAM) == EXPECTED


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_bytes_split_anywhere_give_the_same_frames(cuts: list[int]) -> None:
    parser, frames, start = SSEParser(), [], 0
    for cut in sorted(cuts) + [len(STREAM)]:
        frames += parser.feed(STREAM[start:cut])
        start = cut
    assert frames + parser.flush() == EXPECTED


def test_flush_delivers_an_unterminated_last_event() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: [DONE]") == []
    assert parser.flush() == [SSEFrame(None, "[DONE]")]


def test_format_sse_round_trips_multiline_data() -> None:
    raw = format_sse("line1\nline2", "delta")
    assert raw == b"event: delta\ndata: line1\ndata: line2\n\n"
    assert SSEParser().feed(raw) == [SSEFrame("delta", "line1\nline2")]


def test_format_sse_writes_one_line_data_with_or_without_an_event() -> None:
    assert format_sse('{"a":"é"}', "delta") == 'event: delta\ndata: {"a":"é"}\n\n'.encode()
    assert format_sse("[DONE]") == b"data: [DONE]\n\n"
    assert SSEParser().feed(format_sse('{"a":1}', "delta")) == [SSEFrame("delta", '{"a":1}')]
