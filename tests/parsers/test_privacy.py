"""Privacy: no prompt, response, thinking or tool text from any fixture ever reaches the store,
and the store is private to the user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from agent_usage import store
from agent_usage.ingest import ingest
from agent_usage.parsers import PARSERS
from tests.conftest import FIXTURES, fixture_env

TEXT_KEYS = {
    "text",
    "content",
    "thinking",
    "output",
    "prompt",
    "message",
    "displayContent",
    "summary",
    "user_input",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
}


def _texts(value: object, key: str | None = None) -> Iterator[str]:
    """String values under conversation-text keys, recursively."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item, key)
    elif isinstance(value, str) and key in TEXT_KEYS and len(value) >= 12:
        yield value


def fixture_texts(root: Path) -> set[str]:
    found: set[str] = set()
    for path in root.rglob("*.json*"):
        if path.name == "expected.json":
            continue
        for line in [*path.read_bytes().splitlines(), path.read_bytes()]:  # lines, or one document
            try:
                found.update(_texts(orjson.loads(line)))
            except orjson.JSONDecodeError:
                continue
    return found


@pytest.mark.parametrize("harness", sorted(PARSERS))
def test_no_conversation_text_reaches_the_store(harness: str, tmp_path: Path, isolated_home: Path) -> None:
    db = tmp_path / "s.duckdb"
    texts: set[str] = set()
    for trap in sorted(p for p in (FIXTURES / harness).iterdir() if p.is_dir()):
        texts |= fixture_texts(trap)
        ingest(db, env=fixture_env(harness, trap, isolated_home))
    assert texts, f"{harness}: the fixtures should hold some conversation text to check"
    with store.connect(db) as con:
        con.execute("CHECKPOINT")
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] > 0
    raw = db.read_bytes()
    leaked = [text for text in texts if text.encode() in raw]
    assert leaked == []
    assert db.stat().st_mode & 0o777 == 0o600


def test_no_text_of_a_generated_four_harness_history_reaches_the_store(tmp_path: Path) -> None:
    from agent_usage.demo import generate

    corpus = generate(tmp_path / "corpus", days=3, sessions_per_day=4, seed=11)
    texts = fixture_texts(tmp_path / "corpus")
    assert texts  # the generator fills tool output and replies with the same filler text
    db = tmp_path / "s.duckdb"
    ingest(db, env=corpus.env, prices_file=tmp_path / "none.toml")
    with store.connect(db) as con:
        con.execute("CHECKPOINT")
    raw = db.read_bytes()
    assert [text[:60] for text in texts if text.encode() in raw] == []
    assert b"lorem ipsum" not in raw
