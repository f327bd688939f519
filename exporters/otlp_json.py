"""OTLP/JSON encoding: what http/json sends and what `--dry-run` prints.

OTLP/JSON differs from protobuf's default JSON mapping in two ways that matter: enums are
integers, and trace/span ids are hex strings (protobuf would give base64, which collectors
and the org dashboard reject).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.message import Message

_ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId"})


def _hex_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: base64.b64decode(value).hex()
            if key in _ID_FIELDS and isinstance(value, str)
            else _hex_ids(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(item) for item in node]
    return node


def to_dict(message: Message) -> dict[str, Any]:
    """The OTLP/JSON object for a protobuf message."""
    return _hex_ids(MessageToDict(message, use_integers_for_enums=True))


def encode(message: Message) -> bytes:
    return orjson.dumps(to_dict(message))


def decode(body: bytes, message: Message) -> Message:
    """Parse an OTLP/JSON body (a response, or a request in the test receiver) into `message`."""
    data = orjson.loads(body) if body.strip() else {}
    return ParseDict(_b64_ids(data), message, ignore_unknown_fields=True)


def _b64_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: base64.b64encode(bytes.fromhex(value)).decode()
            if key in _ID_FIELDS and isinstance(value, str)
            else _b64_ids(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_b64_ids(item) for item in node]
    return node
