"""Telemetry exporters (OTLP metrics and traces); imported only by the commands that export."""
