"""Which genai-prices data prices the store: the snapshot bundled with the package, or a newer
one that `agent-usage prices update` downloaded into the data dir.

The download is the only network call the tool makes besides the exporter, and only when the
user asks for it: genai-prices' own updater is never started. It uses genai-prices' data URL,
timeouts and validator; a file that does not validate is never saved, so a failed download
keeps the data in use. A download is used while the installed genai-prices is the version it
was made with; after an upgrade the bundled data may be the newer, so it is used again until
the next `prices update`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_usage.errors import AgentUsageError
from agent_usage.paths import private_dirs, resolve_paths, write_atomically

DATA_FILE = "genai-prices-data.json"


class PriceDataError(AgentUsageError):
    """A download of price data that failed; the data in use stays."""


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A saved download: where from, when, for which genai-prices version, and its digest."""

    path: Path
    url: str
    fetched_at: str
    package_version: str
    digest: str
    providers: int


def data_path(data_dir: Path | None = None) -> Path:
    return (data_dir or resolve_paths().data_dir) / DATA_FILE


def package_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


def update(data_dir: Path, url: str | None = None, timeout: float | None = None) -> Downloaded:
    """Download the current genai-prices data, validate it and save it into `data_dir`."""
    import httpx2
    from genai_prices.types import _providers_from_raw
    from genai_prices.update_prices import DEFAULT_UPDATE_URL, UpdatePrices

    updater = UpdatePrices(url=url or DEFAULT_UPDATE_URL)
    wait = httpx2.Timeout(timeout) if timeout else updater.request_timeout
    try:
        response = httpx2.get(updater.url, timeout=wait, follow_redirects=True)
        response.raise_for_status()
        raw = json.loads(response.content)
        providers = _providers_from_raw(raw)
    except httpx2.HTTPError as error:
        raise PriceDataError(f"prices update: cannot download {updater.url}: {error}") from error
    except (ValueError, TypeError) as error:  # not JSON, or not genai-prices data
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PriceDataError(f"prices update: {updater.url} is not genai-prices data: {detail}") from error
    if not isinstance(raw, list) or not providers:
        raise PriceDataError(f"prices update: {updater.url} holds no providers")
    document = {
        "url": updater.url,
        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "package_version": package_version(),
        "providers": raw,
    }
    target = data_path(data_dir)
    private_dirs(target.parent)
    write_atomically(target, json.dumps(document).encode())
    saved = read_downloaded(target)
    assert saved is not None
    return saved


_read_cache: dict[Path, tuple[tuple[int, int], Downloaded]] = {}
"""The last read of each saved download, by (size, mtime): ingest asks after every batch."""


def read_downloaded(path: Path | None = None) -> Downloaded | None:
    """The saved download, or None (none made, or it does not read)."""
    path = path or data_path()
    try:
        info = path.stat()
        stamp = (info.st_size, info.st_mtime_ns)
        cached = _read_cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        body = path.read_bytes()
        document = json.loads(body)
        saved = Downloaded(
            path,
            str(document["url"]),
            str(document["fetched_at"]),
            str(document["package_version"]),
            hashlib.sha1(body).hexdigest(),
            len(document["providers"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    _read_cache[path] = (stamp, saved)
    return saved


def in_use(path: Path | None = None) -> Downloaded | None:
    """The download that prices the store, or None when the bundled data does."""
    saved = read_downloaded(path)
    return saved if saved is not None and saved.package_version == package_version() else None


_installed: str | None = None


def install(path: Path | None = None) -> str:
    """Make genai-prices look models up in the data in use; return its name for the store's
    price version (so a new download re-prices every model)."""
    global _installed
    saved = in_use(path)
    if saved is None:
        if _installed is not None:
            from genai_prices import data_snapshot  # 0.4 s: only when there is something to undo

            data_snapshot.set_custom_snapshot(None)
            _installed = None
        return f"genai-prices {package_version()} bundled"
    if _installed != saved.digest:
        from genai_prices import data_snapshot

        data_snapshot.set_custom_snapshot(_snapshot(saved.path))
        _installed = saved.digest
    return f"genai-prices data of {saved.fetched_at} ({saved.digest[:12]})"


def _snapshot(path: Path) -> Any:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import _providers_from_raw

    document = json.loads(path.read_bytes())
    return DataSnapshot(_providers_from_raw(document["providers"]), from_auto_update=True)
