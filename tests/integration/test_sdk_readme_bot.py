"""The README's "A bot in a dozen lines" is run exactly as written, against a test exchange: only the
line naming the URL, key id and key file is replaced. If the README's code stops working, this fails."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from integration.sdk_support import funded_member
from integration.server_fixture import kalshi_v2, running_server

README = Path(__file__).resolve().parents[2] / "README.md"
PLACEHOLDER = 'URL, KEY_ID, KEY_FILE = "http://127.0.0.1:8000", "your-api-key-id", "~/.predictex/your-key.pem"'


def readme_bot() -> str:
    text = README.read_text()
    section = text.split("## A bot in a dozen lines", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "the README has no python block under 'A bot in a dozen lines'"
    return found.group(1)


def test_the_bot_is_about_a_dozen_lines() -> None:
    code = [line for line in readme_bot().splitlines() if line.strip()]
    assert len(code) <= 15 and PLACEHOLDER in code


def test_the_readme_bot_runs_against_an_exchange(tmp_path: Path) -> None:
    code = readme_bot()
    with running_server(tmp_path / "data", rate_limits=False) as server:
        member = funded_member(server, "readme-bot")
        key_file = tmp_path / "key.pem"
        key_file.write_bytes(member.credentials.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        ours = f"URL, KEY_ID, KEY_FILE = {server.base_url!r}, {member.credentials.key_id!r}, {str(key_file)!r}"
        done = subprocess.run([sys.executable, "-c", code.replace(PLACEHOLDER, ours)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["bid 0.4900 ask 0.5100", "filled 1.00 at 0.5100 fee 0.0200"]
        fills = server.get_ok("/trade-api/v2/portfolio/fills", auth=kalshi_v2(member.credentials))
        assert [f["count_fp"] for f in fills["fills"]] == ["1.00"]
