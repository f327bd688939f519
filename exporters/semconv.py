"""The names the exporter sends: every metric with its unit and the total it reports, and
our provider ids as `gen_ai.provider.name` values. One table each, so a convention rename
is a one-line change."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One exported instrument: its name, unit, the total it reports and its fixed attributes."""

    name: str
    unit: str
    description: str
    total: str
    """The field of `ModelTotals` (or, for `by_model=False`, of `ProjectTotals`) it reports."""
    by_model: bool = True
    token_type: str | None = None
    is_int: bool = True


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "gen_ai.client.inference.usage.input_tokens",
        "{token}",
        "Input tokens including cache reads and writes (GenAI semantic conventions).",
        "input_tokens",
        token_type="input",
    ),
    MetricSpec(
        "gen_ai.client.inference.usage.output_tokens",
        "{token}",
        "Output tokens including reasoning.",
        "output_tokens",
        token_type="output",
    ),
    MetricSpec(
        "gen_ai.client.inference.usage.cache_read.input_tokens",
        "{token}",
        "Input tokens read from the prompt cache (a part of input_tokens).",
        "cache_read_tokens",
        token_type="cache_read",
    ),
    MetricSpec(
        "gen_ai.client.inference.usage.cache_write.input_tokens",
        "{token}",
        "Input tokens written to the prompt cache (a part of input_tokens).",
        "cache_write_tokens",
        token_type="cache_write",
    ),
    MetricSpec(
        "gen_ai.client.inference.usage.reasoning.output_tokens",
        "{token}",
        "Reasoning tokens (a part of output_tokens).",
        "reasoning_tokens",
        token_type="reasoning",
    ),
    MetricSpec(
        "agent.cost.usage",
        "USD",
        "Cost in USD: the cost the agent recorded, else calculated from tokens and prices.",
        "cost_usd",
        is_int=False,
    ),
    MetricSpec("agent.requests", "{request}", "Billed model requests.", "requests"),
    MetricSpec(
        "agent.sessions",
        "{session}",
        "Agent sessions (by harness and project only).",
        "sessions",
        by_model=False,
    ),
)
"""Every metric in one table, so a convention rename is a one-line change."""

PROVIDER_NAMES = {
    "anthropic": "anthropic",
    "openai": "openai",
    "google": "gcp.gen_ai",
    "aws": "aws.bedrock",
    "azure": "azure.ai.openai",
    "x-ai": "x_ai",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "groq": "groq",
    "cohere": "cohere",
    "perplexity": "perplexity",
    "moonshotai": "moonshot_ai",
    "github-copilot": "github",
}
"""Our provider ids (genai-prices') to `gen_ai.provider.name` well-known values."""


def provider_name(provider: str | None) -> str:
    if not provider:
        return "unknown"
    return PROVIDER_NAMES.get(provider, provider)
