"""The shared parser helpers: `parse_ts` keeps its meaning on every input, fast path or not."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_usage.parsers.base import loads, parse_ts


def reference_parse(value: str) -> datetime | None:
    """ISO-8601 to naive UTC the plain way: parse, then convert any offset."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


fragments = st.lists(
    st.sampled_from(
        [
            "2026-11-22",
            "20261122",
            "2026-W47-7",
            "T",
            " ",
            "20",
            ":04",
            ":05",
            ".407",
            ".123456789",
            "+01:00",
            "-05:30",
            "+00:00",
            "Z",
            "24:00",
            "x",
            "",
        ]
    ),
    max_size=7,
)


@settings(max_examples=600, deadline=None)
@given(fragments)
def test_parse_ts_matches_the_plain_iso_parse(parts: list[str]) -> None:
    value = "".join(parts)
    assert parse_ts(value) == reference_parse(value)


def test_parse_ts_examples() -> None:
    assert parse_ts("2026-11-22T20:04:05.407Z") == datetime(2026, 11, 22, 20, 4, 5, 407000)
    assert parse_ts("2026-11-22T21:04:05+01:00") == datetime(2026, 11, 22, 20, 4, 5)
    assert parse_ts("2026-11-22Z") is None  # a date alone takes no zone
    assert parse_ts("2026-11-22T20:04:05+01:00Z") is None
    assert parse_ts(1_700_000_000_000) == datetime(2023, 11, 14, 22, 13, 20)  # epoch milliseconds
    assert parse_ts(True) is None and parse_ts(None) is None


def test_loads_keeps_a_document_with_lone_surrogates_and_mends_them() -> None:
    document = rb'{"text":"cut \ud83d","tail":["\ude00 x","\ud83d\ude00"],"\ud83d":{"n":1}}'
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(document)  # what every parser used to call
    assert loads(document) == {"text": "cut \ufffd", "tail": ["\ufffd x", "\U0001f600"], "\ufffd": {"n": 1}}
    orjson.dumps(loads(document))  # nothing unencodable is left for the store


def test_loads_reads_a_line_with_bytes_that_are_not_utf8_in_a_string() -> None:
    assert loads(b'{"text":"ok \xff\xfe","usage":{"output_tokens":7}}') == {
        "text": "ok \ufffd\ufffd",
        "usage": {"output_tokens": 7},
    }


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (rb'{"text":"cut \ud83d"', "no low surrogate"),  # cut short as well: still malformed
        (rb'{"n":1,}', "trailing comma"),
        (b'{"text":"\xff"', "utf-8"),  # bad bytes and cut short
        (b'{"n":1\xff}', "utf-8"),  # bad bytes outside a string
    ],
)
def test_loads_still_refuses_what_is_not_json(document: bytes, reason: str) -> None:
    with pytest.raises(orjson.JSONDecodeError, match=f"(?i){reason}"):
        loads(document)
