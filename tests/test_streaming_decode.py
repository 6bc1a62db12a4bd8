"""Files read a piece at a time (``bot.ingest.decoding``): the values ``json.loads`` gives,
whatever the pieces, and errors that say where the text broke."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import PayloadError
from bot.ingest import decoding
from bot.ingest.decoding import JsonRecordReader, Tally, decode_json, decode_ndjson, ndjson_lines

# Values json and orjson read differently, if at all: long integers, lone surrogates, escapes,
# text of several bytes per character (split across pieces), exponents, nesting.
AWKWARD: list[Any] = [
    123456789012345678901234567890,
    -18446744073709551617,
    "lone \ud800 surrogate",
    'quote " backslash \\ slash / tab \t',
    "é ü 中文 🎉",
    1.5e300,
    -0.0,
    {"nested": [[{"deep": [1, 2, {"x": None}]}]], "empty": {}, "list": []},
    True,
    False,
    None,
    "",
]


def read_all(document: bytes, list_key: str | None = None) -> tuple[str, Any]:
    reader = JsonRecordReader(io.BytesIO(document))
    elements, whole = reader.records(list_key)
    if elements is None:
        return "document", whole
    return "elements", list(elements)


class Trickle(io.RawIOBase):
    """A file that hands out at most ``piece`` bytes a read and counts what it handed out."""

    def __init__(self, data: bytes, piece: int) -> None:
        self._data = data
        self._piece = piece
        self.handed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data[self.handed : self.handed + min(self._piece, len(buffer))]
        buffer[: len(chunk)] = chunk
        self.handed += len(chunk)
        return len(chunk)


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 64, 1 << 20])
def test_any_piece_size_gives_the_values_json_loads_gives(
    piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decoding, "CHUNK_BYTES", piece)
    readable = [value for value in AWKWARD if value != "lone \ud800 surrogate"]
    text = json.dumps(readable, indent=2, ensure_ascii=False)[:-1] + ', "lone \\ud800"]'
    document = b"\xef\xbb\xbf" + text.encode() + b"\n"
    assert read_all(document) == ("elements", json.loads(text))
    wrapped = json.dumps({"before": AWKWARD, "events": AWKWARD, "after": {"a": [1]}})
    assert read_all(wrapped.encode(), "events") == ("elements", AWKWARD)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner),
            max_leaves=8,
        ),
        max_size=8,
    ),
    piece=st.integers(min_value=1, max_value=40),
    indent=st.sampled_from([None, 0, 2]),
)
def test_streamed_elements_equal_json_loads(
    values: list[Any], piece: int, indent: int | None
) -> None:
    text = json.dumps(values, indent=indent)
    original = decoding.CHUNK_BYTES
    decoding.CHUNK_BYTES = piece
    try:
        assert read_all(text.encode()) == ("elements", json.loads(text))
    finally:
        decoding.CHUNK_BYTES = original


def test_an_array_is_read_a_piece_at_a_time() -> None:
    """The first element comes out after one piece of the file, not after all of it."""
    element = {"id": "x" * 100, "type": "ai.usage"}
    document = json.dumps([element] * 50_000).encode()
    assert len(document) > 4 * decoding.CHUNK_BYTES
    source = Trickle(document, 1 << 16)
    tally = Tally()
    elements, _ = JsonRecordReader(io.BufferedReader(source), tally).records()
    assert elements is not None
    assert next(elements) == element
    assert tally.bytes <= decoding.CHUNK_BYTES < len(document)
    assert sum(1 for _ in elements) == 49_999
    assert tally.bytes == len(document)


def test_ndjson_lines_are_read_as_they_come() -> None:
    lines = [json.dumps({"id": i}).encode() + b"\n" for i in range(100_000)]
    source = Trickle(b"".join(lines), 1 << 16)
    reader = ndjson_lines(io.BufferedReader(source))
    assert next(reader).value == {"id": 0}
    assert source.handed < len(b"".join(lines)) // 10


def test_an_object_keeps_its_other_members_when_it_has_no_list() -> None:
    assert read_all(b'{"id": "e1", "type": "ai.usage"}', "events") == (
        "document",
        {"id": "e1", "type": "ai.usage"},
    )
    assert read_all(b'{"events": {"a": 1}}', "events") == ("document", {"events": {"a": 1}})
    assert read_all(b'{"events": []}', "events") == ("elements", [])
    assert read_all(b"{}", "events") == ("document", {})
    assert read_all(b'"text"') == ("document", "text")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b'[{"a": 1},\n {"b": 2}, {"c":', "it ends early after 2 records"),
        (b'[{"a": 1},\n {"b": 2}', "it ends early after 2 records"),
        (
            b'[{"a": 1},\n {"b": 2} {"c": 3}]',
            "expected ',' or ']' after an array element at line 2",
        ),
        (b'[{"a": 1},\n {"b": NaN}]', "NaN is not valid JSON"),
        (b"[1] [2]", "extra data after the JSON value at line 1 column 5"),
        (b"", "it ends early"),
        (b"[1, 2\xff]", "not UTF-8 (byte 5)"),
        (b'{"events": [1, 2', "it ends early after 2 records"),
        (b'{"events": [1, 2], "x" 3}', "expected ':' after a property name"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_a_broken_file_says_where(document: bytes, message: str) -> None:
    reader = JsonRecordReader(io.BytesIO(document))
    with pytest.raises(PayloadError) as error:
        elements, _ = reader.records("events")
        list(elements or [])
    assert message in str(error.value)


def test_the_elements_before_a_break_are_given_first() -> None:
    elements, _ = JsonRecordReader(io.BytesIO(b'[{"a": 1}, {"b": 2}, {"c": 3')).records()
    assert elements is not None
    assert next(elements) == {"a": 1} and next(elements) == {"b": 2}
    with pytest.raises(PayloadError, match="ends early after 2 records"):
        next(elements)


def test_ndjson_lines_are_what_json_loads_gives_each_line() -> None:
    values = [*AWKWARD, {"n": 18446744073709551616}, {"cost": 0.1}]
    body = b"\xef\xbb\xbf" + b"\r\n".join(json.dumps(v).encode() for v in values)
    body += b"\n\n   \n\xc2\xa0\n{broken\nNaN\n\xff{}\n" + json.dumps({"last": 1}).encode()
    lines = decode_ndjson(body.replace(b"\xff{}\n", b""))
    assert [line.value for line in lines[: len(values)]] == values
    assert [line.error for line in lines[len(values) :]] == [
        f"line {len(values) + 4} is not valid JSON: Expecting property name enclosed in double quotes",
        f"line {len(values) + 5} is not valid JSON: NaN is not valid JSON",
        None,
    ]
    streamed = list(ndjson_lines(io.BytesIO(body)))
    assert [line.value for line in streamed[: len(values)]] == values
    assert streamed[-2].error == f"line {len(values) + 6} is not UTF-8 (byte 1 of the line)"
    assert streamed[-1].value == {"last": 1}


@pytest.mark.parametrize(
    "body",
    [
        b'{"n": 123456789012345678901234567890}',
        b'{"s": "\\ud800"}',
        b'\xef\xbb\xbf{"a": [1, 2.5, "x"]}',
        b'{"a": 1e400}',
    ],
)
def test_a_body_decodes_as_json_loads_decodes_it(body: bytes) -> None:
    assert decode_json(body) == json.loads(body.decode("utf-8-sig"))
