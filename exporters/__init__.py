"""Telemetry exporters (OTLP metrics and traces); imported only by the commands that export.

This folder is installed as `agent_usage.exporters` (setuptools `package-dir` in
pyproject.toml): import it by that name. docs/architecture.md, "Layout", says why.
"""
