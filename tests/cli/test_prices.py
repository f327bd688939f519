"""`agent-usage prices update` and `prices show`, against a real HTTP server on 127.0.0.1,
and prices.toml applying to reports that do not ingest."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent_usage.price_data import DATA_FILE, install
from tests.conftest import invoke_cli, reports_env

ACME = [
    {
        "id": "acme",
        "name": "Acme",
        "api_pattern": "https://api\\.acme\\.dev",
        "model_match": {"starts_with": "acme-"},
        "models": [
            {
                "id": "acme-coder-1",
                "match": {"equals": "acme-coder-1"},
                "prices": {"input_mtok": 1.5, "output_mtok": 6},
            }
        ],
    }
]
C5_COST = 500 * 1.5 / 1e6 + 500 * 6 / 1e6
"""The reports corpus's C5 (500 in, 500 out on acme-coder-1, unpriced in the bundled data)."""
BODIES = {"/data.json": json.dumps(ACME).encode(), "/broken.json": b"<html>oops", "/empty.json": b"[]"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = BODIES.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(autouse=True)
def bundled_data_afterwards(tmp_path: Path) -> Iterator[None]:
    """In-process runs put a download in place in this process: put the bundled data back."""
    yield
    install(tmp_path / "no-such-file.json")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = reports_env(tmp_path)
    assert invoke_cli("ingest", env=env).returncode == 0
    return env


def acme_cost(env: dict[str, str]) -> float | None:
    done = invoke_cli("report", "model", "--json", "--no-ingest", "--model", "acme-coder-1", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["totals"]["cost_usd"]


def test_an_update_prices_a_model_the_bundled_data_does_not_know(env: dict[str, str], server: str) -> None:
    assert acme_cost(env) is None
    done = invoke_cli("prices", "update", "--url", f"{server}/data.json", env=env)
    assert done.returncode == 0, done.stderr
    saved = Path(env["AGENT_USAGE_HOME"]) / "data" / DATA_FILE
    assert "saved genai-prices data (1 providers)" in done.stderr and saved.exists()
    assert acme_cost(env) == pytest.approx(C5_COST)
    shown = invoke_cli("prices", "show", "acme-coder-1", env=env).stdout
    assert "genai-prices (acme/acme-coder-1), downloaded" in shown and f"from {server}/data.json" in shown
    assert "$1.5" in shown and "$6" in shown


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/broken.json", "is not genai-prices data"),
        ("/empty.json", "holds no providers"),
        ("/missing.json", "cannot download"),
    ],
)
def test_a_failed_download_keeps_the_data_in_use(
    env: dict[str, str], server: str, path: str, message: str
) -> None:
    assert invoke_cli("prices", "update", "--url", f"{server}/data.json", env=env).returncode == 0
    saved = Path(env["AGENT_USAGE_HOME"]) / "data" / DATA_FILE
    before = saved.read_bytes()
    done = invoke_cli("prices", "update", "--url", f"{server}{path}", env=env)
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr
    assert saved.read_bytes() == before
    assert acme_cost(env) == pytest.approx(C5_COST)


def test_a_download_made_for_another_genai_prices_version_gives_way_to_the_bundled_data(
    env: dict[str, str], server: str
) -> None:
    assert invoke_cli("prices", "update", "--url", f"{server}/data.json", env=env).returncode == 0
    saved = Path(env["AGENT_USAGE_HOME"]) / "data" / DATA_FILE
    document = json.loads(saved.read_text())
    saved.write_text(
        json.dumps({**document, "package_version": "0.0.1"})
    )  # as if genai-prices was upgraded since
    assert acme_cost(env) is None
    assert "bundled with genai-prices" in invoke_cli("prices", "show", "claude-opus-4-6", env=env).stdout


def test_show_names_the_override_and_the_unpriced(env: dict[str, str]) -> None:
    shown = invoke_cli("prices", "show", "claude-sonnet-4-5", env=env).stdout
    assert "prices.toml, entry 'claude-sonnet-4-5'" in shown and "$3" in shown and "$15" in shown
    assert "no price known" in invoke_cli("prices", "show", "acme-coder-1", env=env).stdout


def test_prices_toml_applies_to_reports_without_ingest(env: dict[str, str]) -> None:
    prices = Path(env["AGENT_USAGE_HOME"]) / "config" / "prices.toml"
    prices.write_text(prices.read_text() + '\n[models."acme-*"]\ninput = 1.5\noutput = 6\n')
    assert acme_cost(env) == pytest.approx(C5_COST)
    prices.write_text('[models."acme-*"]\ninput = "cheap"\n')
    done = invoke_cli("report", "daily", "--no-ingest", env=env)
    assert done.returncode == 2 and "models.acme-*.input must be a number" in done.stderr  # as on an ingest
