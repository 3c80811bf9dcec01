"""deploy/nginx.conf, the reverse proxy the README recommends: nginx accepts it (`nginx -t`),
and its limits match the service's."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.core.config import Settings

CONF = Path(__file__).parents[1] / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(path).exists()), None
)
SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def directive(name: str) -> list[str]:
    """The values of every `name …;` in the file, comments left out."""
    text = "\n".join(line.split("#", 1)[0] for line in CONF.read_text().splitlines())
    return [match.strip() for match in re.findall(rf"^\s*{name}\s+([^;]+);", text, re.MULTILINE)]


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx; .ci/run does)")
def test_nginx_accepts_the_example_config(tmp_path: Path) -> None:
    assert NGINX is not None
    result = subprocess.run(
        [NGINX, "-t", "-c", str(CONF), "-p", f"{tmp_path}/", "-g", f"pid {tmp_path}/nginx.pid;"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_proxy_limits_match_the_service() -> None:
    (size,) = directive("client_max_body_size")
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", size.lower()).groups()  # type: ignore[union-attr]
    assert int(number) * SIZE_UNITS[unit] == Settings().max_body_bytes
    for name in ("client_header_timeout", "client_body_timeout", "keepalive_timeout"):
        (value,) = directive(name)
        assert re.fullmatch(r"\d+s", value), (name, value)
    assert directive("proxy_set_header").count("X-Forwarded-For $remote_addr") == 1
    assert directive("limit_req_zone") and directive("limit_req")
    (buffers,) = directive("large_client_header_buffers")
    assert buffers.endswith(f"{Settings().h11_max_incomplete_event_size // 1024}k")
