"""Prices: each distinct (provider, model) is resolved once into rows of the `prices` table.

Rates come from the user's overrides file first, then genai-prices' data: the bundled
snapshot, or the newer one `prices update` downloaded (`price_data`; never fetched on its
own). A model's price history becomes one row per validity range, so an event is
priced by its own date; the 200k-token tier is a cliff on the request's total input, as
genai-prices defines it. Unknown or empty-priced models get a row with NULL rates: their
cost is NULL (shown as unpriced), never $0. Cost itself is computed in SQL (`COST_SQL`).

Web searches a request ran are priced per search (genai-prices' `web_searches_kcount`).
Every row exists once per price variant (`VARIANTS`), and an event joins the one its service
tier names: Claude's fast mode (`speed: "fast"`), Codex's fast/priority and flex tiers, batch
rows of an imported usage report. genai-prices lists those rates for the models that have
them (fast: 2x to 6x, batch and flex: half); elsewhere a variant repeats the standard rates.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import tomllib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import duckdb

from agent_usage.errors import ConfigError
from agent_usage.store.meta import get_meta, set_meta

BEGINNING = datetime(1970, 1, 1)
END_OF_TIME = datetime(9999, 1, 1)
RATE_KEYS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
VARIANTS: dict[str, dict[str, str] | None] = {
    "standard": None,
    "fast": {"speed": "fast", "service_tier": "fast"},  # Claude fast mode; Codex fast (priority)
    "priority": {"service_tier": "priority"},
    "flex": {"service_tier": "flex"},
    "batch": {"processing": "batch"},
}
"""Price variant (an event's `service_tier`) -> the genai-prices price context of its rates."""
_OVERRIDE_KEYS = {*RATE_KEYS, "provider", "free"}


@dataclass(slots=True)
class PriceRow:
    """USD per million tokens for one model over one validity range (None: unknown)."""

    provider: str | None
    model: str
    matched_model: str | None
    source: str
    valid_from: datetime
    valid_to: datetime
    rates: tuple[float | None, ...]
    tier_start: int | None = None
    tier_rates: tuple[float | None, ...] = (None,) * 5
    variant: str = "standard"
    web_search: float | None = None
    """USD per 1,000 server-side web searches (None: the model's searches are not priced)."""

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.provider,
            self.model,
            self.matched_model,
            self.source,
            self.valid_from,
            self.valid_to,
            *self.rates,
            self.tier_start,
            *self.tier_rates,
            self.variant,
            self.web_search,
        )


def load_overrides(path: Path) -> dict[str, dict[str, Any]]:
    """Read `prices.toml`: `[models."<id or glob>"]` tables of rates per million tokens."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read price overrides: {error}") from error
    models = data.get("models", {})
    if set(data) - {"models"} or not isinstance(models, dict):
        raise ConfigError(f'{path}: expected only [models."<model id>"] tables')
    for name, entry in models.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: models.{name} must be a table")
        unknown = set(entry) - _OVERRIDE_KEYS
        if unknown:
            raise ConfigError(
                f"{path}: models.{name}: unknown keys {sorted(unknown)}; allowed: {sorted(_OVERRIDE_KEYS)}"
            )
        for key in RATE_KEYS:
            value = entry.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf
            ):
                raise ConfigError(f"{path}: models.{name}.{key} must be a number >= 0, got {value!r}")
        if not entry.get("free") and "input" not in entry:
            raise ConfigError(f"{path}: models.{name} needs at least `input` (or `free = true`)")
    return models


def _override_row(provider: str | None, model: str, name: str, entry: dict[str, Any]) -> PriceRow:
    if entry.get("free"):
        rates: tuple[float | None, ...] = (0.0,) * 5
    else:
        base = float(entry["input"])
        write_5m = float(entry.get("cache_write_5m", base))
        rates = (
            base,
            float(entry.get("output", 0.0)),
            float(entry.get("cache_read", base)),
            write_5m,
            float(entry.get("cache_write_1h", write_5m)),
        )
    return PriceRow(provider, model, name, "override", BEGINNING, END_OF_TIME, rates)


def _split(value: Any) -> tuple[float | None, int | None, float | None]:
    """(base rate, tier start, tier rate) of a genai-prices Decimal or TieredPrices."""
    if value is None:
        return None, None, None
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        return float(value), None, None
    first = tiers[0]
    return float(value.base), int(first.start), float(first.price)


def _rows_from_model_price(
    price: Any,
) -> tuple[tuple[float | None, ...], int | None, tuple[float | None, ...]] | None:
    """Effective rates (with genai-prices' fallbacks to the input rate) or None if empty."""
    raw = {
        "input": price.input_mtok,
        "output": price.output_mtok,
        "cache_read": price.cache_read_mtok or price.input_mtok,
        "cache_write_5m": price.cache_write_mtok or price.input_mtok,
        "cache_write_1h": price.cache_write_1h_mtok or price.cache_write_mtok or price.input_mtok,
    }
    if raw["input"] is None and raw["output"] is None:
        return None
    split = {key: _split(value) for key, value in raw.items()}
    tier_start = next((s[1] for s in split.values() if s[1] is not None), None)
    base = tuple(split[k][0] if split[k][0] is not None else 0.0 for k in RATE_KEYS)
    if tier_start is None:
        return base, None, (None,) * 5
    tier = tuple(split[k][2] if split[k][2] is not None else base[i] for i, k in enumerate(RATE_KEYS))
    return base, tier_start, tier


def _boundaries(info: Any) -> list[datetime]:
    """Start dates at which the model's price changes (its conditional prices and variants)."""
    starts = {BEGINNING}
    conditionals = [*(info.prices if isinstance(info.prices, list) else ()), *(info.price_variants or ())]
    for conditional in conditionals:
        start = getattr(conditional.constraint, "start_date", None)
        if start is not None:
            starts.add(datetime.combine(start, time()))
    return sorted(starts)


def _genai_rows(provider: str | None, model: str) -> list[PriceRow]:
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    found = None
    for provider_id in dict.fromkeys([provider, None]):
        try:
            found = snapshot.find_provider_model(model, None, provider_id, None)
            break
        except LookupError:
            continue
    if found is None:
        return []
    matched_provider, info = found
    starts = _boundaries(info)
    rows = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else END_OF_TIME
        noon = datetime.combine(start.date(), time(12), UTC)
        base = info.get_prices(noon)
        standard = _rows_from_model_price(base)
        if standard is None:
            continue
        for variant, context in VARIANTS.items():
            price = info.get_prices(noon, context) if context else base
            resolved = _rows_from_model_price(price) if context else standard
            rates, tier_start, tier_rates = resolved or standard
            searches = price.web_searches_kcount
            rows.append(
                PriceRow(
                    provider,
                    model,
                    f"{matched_provider.id}/{info.id}",
                    "genai-prices",
                    start,
                    end,
                    rates,
                    tier_start,
                    tier_rates,
                    variant,
                    _split(searches)[0],
                )
            )
    return rows


def _in_every_variant(row: PriceRow) -> list[PriceRow]:
    return [replace(row, variant=variant) for variant in VARIANTS]


def resolve(provider: str | None, model: str, overrides: dict[str, dict[str, Any]]) -> list[PriceRow]:
    """All price rows for one model, in every variant; NULL-rate rows when it is unknown.

    An override's rates hold in fast mode too: the user priced the model, not its modes.
    """
    for name, entry in overrides.items():
        wanted_provider = entry.get("provider")
        if fnmatch.fnmatchcase(model.lower(), name.lower()) and wanted_provider in (None, provider):
            return _in_every_variant(_override_row(provider, model, name, entry))
    rows = _genai_rows(provider, model) if model not in ("unknown", "<synthetic>") else []
    unknown = PriceRow(provider, model, None, "unknown", BEGINNING, END_OF_TIME, (None,) * 5)
    return rows or _in_every_variant(unknown)


def prices_version(overrides_path: Path | None) -> str:
    """The name of the price sources in use (the genai-prices data, the overrides' digest):
    when it changes, every model is priced again. It also puts the data in use in place."""
    from agent_usage import price_data

    digest = (
        hashlib.sha1(overrides_path.read_bytes()).hexdigest()
        if overrides_path and overrides_path.exists()
        else "-"
    )
    return f"{price_data.install()}; overrides {digest}"


def refresh(con: duckdb.DuckDBPyConnection, overrides_path: Path | None = None) -> int:
    """Price every (provider, model) of the events not yet in `prices`; rebuild on a new source."""
    version = prices_version(overrides_path)
    if get_meta(con, "prices_version") != version:
        con.execute("DELETE FROM prices")
        set_meta(con, "prices_version", version)
    missing = con.execute(
        """SELECT DISTINCT e.provider, e.model FROM events e
           ANTI JOIN prices p ON p.model = e.model AND p.provider IS NOT DISTINCT FROM e.provider"""
    ).fetchall()
    if not missing:
        return 0
    overrides = load_overrides(overrides_path) if overrides_path else {}
    rows = [row.as_tuple() for provider, model in missing for row in resolve(provider, model, overrides)]
    with con.appender("prices") as appender:
        appender.append_rows(rows)
    return len(missing)
