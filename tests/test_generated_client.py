"""A client generated from the live OpenAPI document by openapi-python-client, as a consuming
service would make one, works against the running service: filters and cursors, a create with
a write key, and errors read as `Problem` (a 412 on a stale If-Match, a 422).

The generator runs in a venv of its own (it pins its own versions of shared libraries); the
generated code is never committed (see the README)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, serve

GENERATOR = "openapi-python-client==0.29.1"
CONFIG = (
    "post_hooks: []\n"
    "project_name_override: conflict-events-client\n"
    "package_name_override: conflict_events_client\n"
)

SCENARIO = textwrap.dedent(
    """
    import json, sys
    from conflict_events_client import AuthenticatedClient
    from conflict_events_client.api.events import list_events
    from conflict_events_client.api.sources_and_documents import create_source, update_source
    from conflict_events_client.models import Problem, SourceCreate, SourceKind, SourceUpdate
    from conflict_events_client.types import UNSET

    base, key = sys.argv[1], sys.argv[2]
    client = AuthenticatedClient(base_url=base, token=key)
    ids, pages, cursor = [], 0, UNSET
    while True:
        page = list_events.sync(client=client, country=["by"], limit=2, cursor=cursor)
        pages += 1
        ids += [event.id for event in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    body = SourceCreate(name="Generated", kind=SourceKind.NGO)
    created = create_source.sync_detailed(client=client, body=body)
    stale_tag = created.headers["etag"]
    source_id = created.parsed.id
    first = update_source.sync(
        client=client, source_id=source_id, body=SourceUpdate(description="first"), if_match=stale_tag
    )
    stale = update_source.sync(
        client=client, source_id=source_id, body=SourceUpdate(description="second"), if_match=stale_tag
    )
    invalid = list_events.sync(client=client, limit=0)
    print(json.dumps({
        "ids": ids,
        "pages": pages,
        "created": [created.status_code, created.parsed.name],
        "first": first.description,
        "stale": [type(stale).__name__, stale.status, stale.title],
        "invalid": [type(invalid).__name__, invalid.status, invalid.detail],
    }))
    """
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The service on the demo data, with a write key."""
    home = tmp_path_factory.mktemp("server")
    limits_off = {"RATE_LIMIT_PER_MINUTE": "0", "AUTH_FAILURES_PER_MINUTE": "0"}
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{home / 'api.db'}", **limits_off}

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("db", "upgrade")
    cli("demo")
    key = cli("keys", "create", "generated-client", "--scope", "write").strip().splitlines()[-1]
    port = free_port()
    process = serve(env, port)
    base = f"http://127.0.0.1:{port}"
    yield base, key
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def client_python(server: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the generator and the client it generated from the live /openapi.json."""
    work = tmp_path_factory.mktemp("client")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, GENERATOR], check=True, capture_output=True)
    with urllib.request.urlopen(f"{server[0]}/openapi.json", timeout=10) as response:
        (work / "openapi.json").write_bytes(response.read())
    (work / "config.yaml").write_text(CONFIG, encoding="utf-8")
    generated = subprocess.run(
        [
            str(venv / "bin" / "openapi-python-client"),
            "generate",
            "--path",
            str(work / "openapi.json"),
            "--output-path",
            str(work / "out"),
            "--meta",
            "setup",
            "--config",
            str(work / "config.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    output = generated.stdout + generated.stderr
    assert "Warning" not in output and "warning" not in output, output  # a clean generation
    subprocess.run([*pip, str(work / "out")], check=True, capture_output=True)
    return venv / "bin" / "python"


def test_the_generated_client_lists_pages_creates_and_reads_problems(
    server: tuple[str, str], client_python: Path, tmp_path: Path
) -> None:
    base, key = server
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO, encoding="utf-8")
    done = subprocess.run(
        [str(client_python), str(script), base, key], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    with urllib.request.urlopen(f"{base}/v1/events?country=BY&limit=500", timeout=10) as response:
        expected = [event["id"] for event in json.load(response)["items"]]
    assert result["ids"] == expected and len(expected) > 2
    assert result["pages"] >= (len(expected) + 1) // 2  # two per page, cursors followed to the end
    assert result["created"] == [201, "Generated"]
    assert result["first"] == "first"
    assert result["stale"][:2] == ["Problem", 412]
    assert result["invalid"][:2] == ["Problem", 422] and "limit" in result["invalid"][2]
