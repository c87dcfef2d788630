"""`predictex profile`: the config file's profiles (see config.py): list, show, set, use."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from predictex.cli import output as out
from predictex.cli.config import Config, ConfigError, Profile


def register(commands: Any) -> None:
    profile = commands.add_parser("profile", help="profiles: which exchange and which API key").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    listing = profile.add_parser("list", help="every profile")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=out.command("profile list", run_list))
    show = profile.add_parser("show", help="one profile (default: the default one)")
    show.add_argument("name", nargs="?", help="the profile (default: the default one)")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=out.command("profile show", run_show))
    setter = profile.add_parser("set", help="create or change a profile")
    setter.add_argument("name", help="the profile to create or change")
    setter.add_argument("--url", default=None, help="the exchange's URL")
    setter.add_argument("--key-id", default=None, help="API key id")
    setter.add_argument("--key-file", default=None, help="path of the private key (the file stays where it is)")
    setter.add_argument("--default", action="store_true", help="make it the default profile")
    setter.set_defaults(handler=out.command("profile set", run_set))
    use = profile.add_parser("use", help="make a profile the default")
    use.add_argument("name", help="the profile")
    use.set_defaults(handler=out.command("profile use", run_use))


def _row(config: Config, p: Profile) -> dict[str, Any]:
    return {"name": p.name, "default": p.name == config.default, "url": p.url, "key_id": p.key_id, "private_key": p.private_key}


def run_list(arguments: argparse.Namespace) -> int:
    config = Config.load()
    rows = [_row(config, p) for _, p in sorted(config.profiles.items())]
    if arguments.json:
        out.print_json(rows)
    else:
        out.table(("", "profile", "url", "key id", "private key"), (
            ("*" if r["default"] else "", r["name"], r["url"], r["key_id"] or "-", r["private_key"] or "-") for r in rows))
        print(f"(config file: {config.path})")
    return out.EXIT_OK


def run_show(arguments: argparse.Namespace) -> int:
    config = Config.load()
    row = _row(config, config.profile(arguments.name))
    if arguments.json:
        out.print_json(row)
    else:
        for key, value in row.items():
            print(f"{key:12} {value if value not in ('', None) else '-'}")
    return out.EXIT_OK


def update_profile(name: str, *, url: str | None = None, key_id: str | None = None, key_file: str | None = None,
                   make_default: bool = False) -> Config:
    config = Config.load()
    current = config.profiles.get(name, Profile(name, ""))
    key_path = str(Path(key_file).expanduser().resolve()) if key_file else current.private_key
    updated = Profile(name, url or current.url, key_id or current.key_id, key_path)
    if not updated.url:
        raise ConfigError(f"a new profile needs --url (profile {name!r} has none)")
    config.set(updated)
    if make_default:
        config.default = name
    config.save()
    return config


def run_set(arguments: argparse.Namespace) -> int:
    config = update_profile(arguments.name, url=arguments.url, key_id=arguments.key_id, key_file=arguments.key_file,
                            make_default=arguments.default)
    print(f"profile {arguments.name} saved in {config.path}")
    return out.EXIT_OK


def run_use(arguments: argparse.Namespace) -> int:
    config = Config.load()
    config.profile(arguments.name)
    config.default = arguments.name
    config.save()
    print(f"default profile: {arguments.name}")
    return out.EXIT_OK
