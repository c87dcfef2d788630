"""The trader's config file: named profiles, each an exchange URL and an API key (the private key is
referenced by path, never copied into the file). Three profiles always exist, local, demo and
production, with their URLs; the file adds keys to them or defines more.

    # ~/.config/predictex/config.toml  (or $PREDICTEX_CONFIG)
    default = "local"

    [profiles.local]
    url = "http://127.0.0.1:8000"
    key_id = "demo_0b6c..."
    private_key = "~/.predictex/demo_0b6c....pem"

Command-line flags (--url, --key-id, --key-file) and PREDICTEX_URL / PREDICTEX_KEY_ID /
PREDICTEX_KEY_FILE override the profile.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from predictex.client.environments import ENVIRONMENTS

FIELDS = ("url", "key_id", "private_key")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Profile:
    name: str
    url: str
    key_id: str = ""
    private_key: str = ""  # a path

    @property
    def has_key(self) -> bool:
        return bool(self.key_id and self.private_key)


def config_path() -> Path:
    given = os.environ.get("PREDICTEX_CONFIG")
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "predictex" / "config.toml"


@dataclass
class Config:
    path: Path
    default: str
    profiles: dict[str, Profile]

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        path = path or config_path()
        profiles = {name: Profile(name, url) for name, url in ENVIRONMENTS.items()}
        default = "local"
        if path.exists():
            try:
                data = tomllib.loads(path.read_text())
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise ConfigError(f"cannot read {path}: {error}") from error
            default = str(data.get("default", default))
            for name, values in (data.get("profiles") or {}).items():
                if not isinstance(values, dict):
                    raise ConfigError(f"{path}: [profiles.{name}] is not a table")
                base = profiles.get(name, Profile(name, ""))
                profiles[name] = replace(base, **{k: str(v) for k, v in values.items() if k in FIELDS})
        return cls(path, default, profiles)

    def profile(self, name: str | None) -> Profile:
        chosen = name or os.environ.get("PREDICTEX_PROFILE") or self.default
        if chosen not in self.profiles:
            raise ConfigError(f"no profile {chosen!r} (profiles: {', '.join(sorted(self.profiles))}); "
                              f"add one with: predictex profile set {chosen} --url URL")
        return self.profiles[chosen]

    def set(self, profile: Profile) -> None:
        self.profiles[profile.name] = profile

    def save(self) -> None:
        lines = [f"default = {_quote(self.default)}", ""]
        for name, profile in sorted(self.profiles.items()):
            values: dict[str, Any] = {"url": profile.url, "key_id": profile.key_id, "private_key": profile.private_key}
            if name in ENVIRONMENTS and values["url"] == ENVIRONMENTS[name] and not profile.key_id:
                continue  # a built-in profile with nothing added
            lines.append(f"[profiles.{_key(name)}]")
            lines += [f"{field} = {_quote(value)}" for field, value in values.items() if value]
            lines.append("")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("\n".join(lines))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else _quote(name)
