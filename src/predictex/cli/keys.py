"""`predictex keys`: get an API key from a running exchange (signing up first on a demo exchange),
list keys, delete one, through the SDK with a password session. Private keys are written to files
only their owner can read (mode 0600); `--profile NAME` also saves the new key in that profile."""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path
from typing import Any

from predictex.cli.output import describe
from predictex.cli.profiles import update_profile
from predictex.client import AuthenticationError, Client, PredictexError

DEFAULT_URL = "http://127.0.0.1:8000"


def register(commands: Any) -> None:
    keys = commands.add_parser("keys", help="create, list or delete API keys")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="sign up if needed (demo), then generate an API key")
    _common(create)
    create.add_argument("--name", default="cli", help="a name for the key")
    create.add_argument("--type", choices=("rsa", "ed25519"), default="rsa")
    create.add_argument("--out", default=None, help="where to write the private key (default ~/.predictex/<key id>.pem)")
    create.add_argument("--profile", default=None, help="save the key (and --url) in this profile of the config file")
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="list your API keys")
    _common(listing)
    listing.set_defaults(handler=run_list)
    delete = actions.add_parser("delete", help="delete an API key (effective immediately)")
    _common(delete)
    delete.add_argument("key_id")
    delete.set_defaults(handler=run_delete)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get("PREDICTEX_URL", DEFAULT_URL), help="the exchange's base URL")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", default=os.environ.get("PREDICTEX_PASSWORD"), help="(asked for when not given)")


def _password(arguments: argparse.Namespace) -> str:
    return arguments.password or getpass.getpass(f"password for {arguments.email}: ")


def _log_in(url: str, email: str, password: str, sign_up: bool) -> Client:
    client = Client(url)
    try:
        client.log_in_with_password(email, password)
        return client
    except AuthenticationError:
        if not sign_up:
            raise
    client.sign_up(email, password)
    print(f"signed up {email}")
    client.log_in_with_password(email, password)
    return client


def write_private_key(path: Path, pem: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(pem)
    os.chmod(path, 0o600)


def run_create(arguments: argparse.Namespace) -> int:
    try:
        with _log_in(arguments.url, arguments.email, _password(arguments), sign_up=True) as client:
            generated = client.generate_api_key(arguments.name, arguments.type)
    except PredictexError as error:
        print(f"predictex keys create: {describe(error)}")
        return 1
    key_id = generated.api_key_id
    path = Path(arguments.out).expanduser() if arguments.out else Path.home() / ".predictex" / f"{key_id}.pem"
    write_private_key(path, generated.private_key_pem)
    print(f"API key id: {key_id}")
    print(f"private key: {path} (mode 0600; the exchange keeps only the public key)")
    if arguments.profile:
        config = update_profile(arguments.profile, url=arguments.url, key_id=key_id, key_file=str(path))
        print(f"saved in profile {arguments.profile} ({config.path})")
    return 0


def run_list(arguments: argparse.Namespace) -> int:
    try:
        with _log_in(arguments.url, arguments.email, _password(arguments), sign_up=False) as client:
            keys = client.api_keys()
    except PredictexError as error:
        print(f"predictex keys list: {describe(error)}")
        return 1
    for key in keys:
        print(f"{key.api_key_id}  {key.raw.get('key_type', ''):8}  {','.join(key.scopes):12}  {key.name}")
    return 0


def run_delete(arguments: argparse.Namespace) -> int:
    try:
        with _log_in(arguments.url, arguments.email, _password(arguments), sign_up=False) as client:
            client.delete_api_key(arguments.key_id)
    except PredictexError as error:
        print(f"predictex keys delete: {describe(error)}")
        return 1
    print(f"deleted {arguments.key_id}")
    return 0
