"""gaia._sse.EventParser against the WHATWG event-stream parsing rules."""

from __future__ import annotations

import pytest

from gaia._sse import Event, EventParser


def parse(*chunks: bytes) -> list[Event]:
    parser = EventParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


@pytest.mark.parametrize("end", [b"\n", b"\r", b"\r\n"])
def test_every_line_end_ends_a_line(end: bytes) -> None:
    stream = b"event: log" + end + b"data: a" + end + b"data: b" + end + end
    assert parse(stream) == [Event("log", "a\nb")]


def test_a_bare_cr_inside_a_line_ends_it() -> None:
    """What a naive LF-only reader takes for one data line is four lines and an event."""
    stream = b"event: log\ndata: foo\revent: end\rdata: {}\r\r"
    assert parse(stream) == [Event("end", "foo\n{}")]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    assert parse(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [Event("message", "a\nb")]


def test_any_chunking_gives_the_same_events() -> None:
    stream = ": ping\r\nevent: log\rdata: é\ndata:x\r\n\r\nevent: end\ndata: {}\n\n".encode()
    whole = parse(stream)
    assert whole == [Event("log", "é\nx"), Event("end", "{}")]
    assert parse(*(stream[i : i + 1] for i in range(len(stream)))) == whole


def test_comments_fields_and_dispatch_rules() -> None:
    stream = (
        b"\xef\xbb\xbf: a comment\n"
        b"data\n"  # a field name alone: an empty value
        b"\n"
        b"event: nothing\n\n"  # no data: nothing dispatched, the type is reset
        b"id: 7\nretry: 300\nunknown: x\ndata:  two spaces\n\n"
        b"data: unfinished"
    )
    parser = EventParser()
    assert parser.feed(stream) == [Event("message", ""), Event("message", " two spaces", "7")]
    assert parser.retry == 300
