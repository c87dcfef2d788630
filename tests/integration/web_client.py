"""A cookie-keeping HTTP client for the web pages' tests: what a browser does with cookies, forms and
the CSRF token, without a browser (the browser tests are tests/integration/test_web_browser.py)."""

from __future__ import annotations

import http.client
import json
import re
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from integration.server_fixture import CALL_TIMEOUT_S, Reply

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class WebClient:
    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CALL_TIMEOUT_S)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            headers = response.getheaders()
            reply = Reply(response.status, {k.lower(): v for k, v in headers}, response.read())
        finally:
            connection.close()
        for value in [v for k, v in headers if k.lower() == "set-cookie"]:
            self.set_cookie_headers.append(value)
            jar: SimpleCookie = SimpleCookie()
            jar.load(value)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return reply

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def csrf(self) -> str:
        if "px_csrf" not in self.cookies:
            self.get("/login")
        return self.cookies["px_csrf"]

    def post_form(self, path: str, fields: dict[str, str], *, csrf: bool = True, origin: str | None = None) -> Reply:
        data = dict(fields)
        if csrf:
            data["csrf_token"] = self.csrf()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin or self.origin}
        return self.request("POST", path, urlencode(data).encode(), headers)

    def api(self, method: str, path: str, body: Any = None, *, csrf: bool = True) -> Reply:
        headers = {"Origin": self.origin, "Content-Type": "application/json"}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf()
        return self.request(method, "/web/api" + path, json.dumps(body).encode() if body is not None else None, headers)

    def log_in(self, email: str, password: str) -> Reply:
        return self.post_form("/login", {"email": email, "password": password, "next": "/"})

    def sign_up(self, email: str, password: str) -> Reply:
        return self.post_form("/signup", {"email": email, "password": password, "password_again": password})
