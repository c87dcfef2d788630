"""`predictex keys`: get an API key from a running exchange (signing up first on a demo exchange),
list keys, delete one, through the SDK. `keys create` logs in with an email and password; `--profile
NAME` saves the new key (and the URL) in that profile and makes it the default, so the next command
uses it. `keys list` and `keys delete` sign with the saved profile's key, or log in with --email.
Private keys are written to files only their owner can read (mode 0600)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from predictex.cli import output as out
from predictex.cli.config import ConfigError
from predictex.cli.profiles import update_profile
from predictex.cli.trader import client_settings, connection_options
from predictex.client import AuthenticationError, Client

DEFAULT_URL = "http://127.0.0.1:8000"


def register(commands: Any) -> None:
    keys = commands.add_parser("keys", help="create, list or delete API keys",
                               description="Create, list or delete API keys.")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="sign up if needed (demo), then generate an API key",
                                description="Log in with an email and password (signing up first on a demo exchange, "
                                            "with play money), generate an API key, and write its private key to a file "
                                            "only you can read.")
    create.add_argument("--url", default=os.environ.get("PREDICTEX_URL", DEFAULT_URL),
                        help=f"the exchange's URL (default: PREDICTEX_URL or {DEFAULT_URL})")
    _login_options(create, email_required=True)
    create.add_argument("--name", default="cli", help="a name for the key (default cli)")
    create.add_argument("--type", choices=("rsa", "ed25519"), default="rsa", help="key type (default rsa)")
    create.add_argument("--out", default=None, help="where to write the private key (default ~/.predictex/<key id>.pem)")
    create.add_argument("--profile", default=None,
                        help="save the key and --url in this profile of the config file, and make it the default profile")
    create.set_defaults(handler=out.command("keys create", run_create))
    listing = actions.add_parser("list", help="list your API keys",
                                 description="List your API keys: signed with the profile's key, or logged in with --email.")
    connection_options(listing)
    _login_options(listing, email_required=False)
    listing.set_defaults(handler=out.command("keys list", run_list))
    delete = actions.add_parser("delete", help="delete an API key (effective immediately)",
                                description="Delete an API key: it stops working at once, and so do sessions made with it.")
    connection_options(delete)
    _login_options(delete, email_required=False)
    delete.add_argument("doomed_key_id", metavar="KEY_ID", help="the key to delete (from `predictex keys list`)")
    delete.set_defaults(handler=out.command("keys delete", run_delete))


def _login_options(parser: argparse.ArgumentParser, *, email_required: bool) -> None:
    parser.add_argument("--email", required=email_required,
                        help="your login" + ("" if email_required else " (instead of the profile's API key)"))
    parser.add_argument("--password", default=os.environ.get("PREDICTEX_PASSWORD"),
                        help="your password (default: PREDICTEX_PASSWORD, else asked for on the terminal)")


def _password(arguments: argparse.Namespace) -> str:
    if arguments.password:
        return str(arguments.password)
    if not sys.stdin.isatty():
        raise ConfigError(f"no terminal to ask for {arguments.email}'s password: give --password or set PREDICTEX_PASSWORD")
    return getpass.getpass(f"password for {arguments.email}: ")


def _log_in(url: str, email: str, password: str, sign_up: bool) -> Client:
    client = Client(url)
    try:
        client.log_in_with_password(email, password)
        return client
    except AuthenticationError:
        if not sign_up:
            client.close()
            raise
    # A demo exchange answers a sign-up alike whether the email was free or a member's (it tells nobody
    # who is a member): only a login with the new password shows that a member was made.
    client.sign_up(email, password)
    try:
        client.log_in_with_password(email, password)
    except AuthenticationError:
        client.close()
        raise ConfigError(f"{email} is already a member, with another password: give that password "
                          "(--password or PREDICTEX_PASSWORD)") from None
    print(f"signed up {email}")
    return client


def _client(arguments: argparse.Namespace) -> Client:
    """Logged in with --email, else signing with the profile's (or --key-id's) key."""
    if arguments.email:
        url = arguments.url or os.environ.get("PREDICTEX_URL") or client_settings(arguments, need_key=False)["base_url"]
        return _log_in(url, arguments.email, _password(arguments), sign_up=False)
    try:
        return Client(**client_settings(arguments, need_key=True))
    except ConfigError as error:
        raise ConfigError(f"{error}; or log in with --email") from None


def write_private_key(path: Path, pem: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(pem)
    os.chmod(path, 0o600)


def run_create(arguments: argparse.Namespace) -> int:
    path = Path(arguments.out).expanduser() if arguments.out else None
    with _log_in(arguments.url, arguments.email, _password(arguments), sign_up=True) as client:
        generated = client.generate_api_key(arguments.name, arguments.type)
    key_id = generated.api_key_id
    path = path or Path.home() / ".predictex" / f"{key_id}.pem"
    write_private_key(path, generated.private_key_pem)
    print(f"API key id: {key_id}")
    print(f"private key: {path} (mode 0600; the exchange keeps only the public key)")
    if arguments.profile:
        config = update_profile(arguments.profile, url=arguments.url, key_id=key_id, key_file=str(path), make_default=True)
        print(f"saved in profile {arguments.profile}, now the default ({config.path}): try `predictex balance`")
    else:
        print(f"use it with --key-id {key_id} --key-file {path}, or save it: "
              f"predictex profile set NAME --url {arguments.url} --key-id {key_id} --key-file {path} --default")
    return out.EXIT_OK


def run_list(arguments: argparse.Namespace) -> int:
    with _client(arguments) as client:
        keys = client.api_keys()
    if arguments.json:
        out.print_json([key.raw for key in keys])
        return out.EXIT_OK
    out.table(("key id", "type", "scopes", "name"), (
        (key.api_key_id, key.raw.get("key_type", ""), ",".join(key.scopes), key.name) for key in keys))
    return out.EXIT_OK


def run_delete(arguments: argparse.Namespace) -> int:
    with _client(arguments) as client:
        client.delete_api_key(arguments.doomed_key_id)
    if arguments.json:
        out.print_json({"deleted": arguments.doomed_key_id})
        return out.EXIT_OK
    print(f"deleted {arguments.doomed_key_id}")
    return out.EXIT_OK
