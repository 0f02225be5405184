"""The few GitLab REST calls the post-install resource makes, with errors an operator can act on.

The admin token is read from an environment variable when an operation runs and sent as
`PRIVATE-TOKEN`; it is never part of inputs, state or messages. Secrets GitLab returns (an OAuth
application's secret, a runner's token) are held in `repr=False` fields and handed to the caller only.
Redirects are never followed: a redirect would carry the token to another address.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from mojaloop_iac.tls import is_pem, requests_verify

API_PREFIX = "/api/v4"
DEFAULT_TIMEOUT_SECONDS = 15.0
_PAGE_SIZE = 100
_MAX_PAGES = 50
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOKEN_HELP = (
    "a personal access token with scope `api` of a GitLab administrator (Admin area > Users > the "
    "administrator > Impersonation tokens, or the administrator's own Access tokens page)"
)


class GitLabError(Exception):
    """A GitLab call failed; the message names the address, what was attempted and what to do."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Application:
    """An instance-wide OAuth application as GitLab lists it (never with its secret)."""

    id: int
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    confidential: bool


@dataclass(frozen=True)
class IssuedApplication:
    """GitLab's answer to creating an application or renewing its secret: the only time it shows the secret."""

    application: Application
    secret: str = field(repr=False)


@dataclass(frozen=True)
class IssuedRunner:
    id: int
    token: str = field(repr=False)


def read_admin_token(token_env: str, url: str) -> str:
    """The admin token from `token_env`, read now; an error naming the variable when it is empty."""
    if not _ENV_NAME.match(token_env):
        raise GitLabError(f"admin_token_env {token_env!r} is not an environment variable name")
    token = os.environ.get(token_env, "").strip()
    if not token:
        raise GitLabError(
            f"environment variable {token_env} holds no GitLab admin token for {url}: export {_TOKEN_HELP} "
            f"in {token_env} and re-run (it is read when the resource runs and never stored)"
        )
    return token


@contextmanager
def _verify(ca_cert: str | None) -> Iterator[str | bool]:
    try:
        with requests_verify(ca_cert, "gitlab_ca_cert") as verify:
            yield verify
    except ValueError as error:
        raise GitLabError(str(error)) from None


def ca_pem(ca_cert: str | None) -> str | None:
    """The PEM text of `ca_cert` (PEM text or a file path), for Vault's `oidc_discovery_ca_pem`."""
    if ca_cert is None or is_pem(ca_cert):
        return ca_cert
    try:
        return Path(ca_cert).read_text()
    except OSError as error:
        raise GitLabError(f"cannot read gitlab_ca_cert {ca_cert!r}: {error.strerror}") from None


def _application(item: Mapping[str, Any]) -> Application:
    callback = str(item.get("callback_url") or "")
    return Application(
        id=int(item["id"]),
        client_id=str(item["application_id"]),
        name=str(item.get("application_name") or ""),
        # GitLab keeps the redirect URIs as one text, one URI per line.
        redirect_uris=tuple(uri for uri in callback.split() if uri),
        confidential=bool(item.get("confidential", True)),
    )


def _network_reason(error: requests.exceptions.RequestException) -> str:
    if isinstance(error, requests.exceptions.Timeout):
        return "the connection timed out"
    found = re.search(r"\[Errno -?\d+\] ([^')\]]+)", str(error))
    return found.group(1).strip().lower() if found else "the connection failed"


def _gitlab_says(response: requests.Response) -> str:
    """GitLab's own error text (`message` or `error`), never the request; short."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, Mapping):
        return ""
    said = body.get("message", body.get("error", ""))
    if isinstance(said, Mapping):  # validation errors: {"redirect_uri": ["is invalid"]}
        said = "; ".join(f"{key} {' '.join(map(str, value))}" for key, value in said.items())
    return " ".join(str(said).split())[:300]


class GitLabClient:
    """Admin calls against one GitLab; every failure becomes a GitLabError saying what to do."""

    def __init__(
        self, url: str, token_env: str, session: requests.Session, verify: str | bool, timeout: float
    ) -> None:
        self.url = url.rstrip("/")
        self.token_env = token_env
        self._session = session
        self._verify = verify
        self._timeout = timeout

    def _request(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        absent_ok: bool = False,
    ) -> requests.Response | None:
        try:
            response = self._session.request(
                method,
                f"{self.url}{API_PREFIX}{path}",
                json=dict(json) if json is not None else None,
                params=params,
                timeout=self._timeout,
                # Per request: a session-level CA file would lose to REQUESTS_CA_BUNDLE.
                verify=self._verify,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError:
            raise GitLabError(
                f"TLS verification of GitLab at {self.url} failed (while trying to {doing}): pass the CA "
                "certificate that signed GitLab's certificate as gitlab_ca_cert (PEM text or a file path)"
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
            host = urlsplit(self.url).hostname
            raise GitLabError(
                f"cannot reach GitLab at {self.url} (needed to {doing}): {_network_reason(error)}; check that "
                f"the GitLab release is installed and its webservice pods are ready, and that this machine "
                f"resolves and reaches {host}"
            ) from None
        status = response.status_code
        if absent_ok and status == 404:
            return None
        if status < 300:
            return response
        said = _gitlab_says(response)
        # GitLab often says no more than the status line ("403 Forbidden").
        detail = f": {said}" if said and not said.startswith(str(status)) else ""
        if 300 <= status < 400:
            raise GitLabError(
                f"GitLab at {self.url} redirected the request to {doing} (HTTP {status}) to "
                f"{response.headers.get('Location', 'another address')}: set gitlab_url to GitLab's own "
                "address (scheme, host and relative URL root, as `external_url` says)",
                status=status,
            )
        if status == 401:
            raise GitLabError(
                f"GitLab at {self.url} rejected the token in ${self.token_env} (HTTP 401 while trying to "
                f"{doing}): it is invalid, expired or revoked. Export {_TOKEN_HELP} in {self.token_env}",
                status=status,
            )
        if status == 403:
            raise GitLabError(
                f"the token in ${self.token_env} may not {doing} at GitLab {self.url} (HTTP 403{detail}): only "
                f"administrators manage instance OAuth applications and instance runners. Export {_TOKEN_HELP} "
                f"in {self.token_env}",
                status=status,
            )
        if status in (502, 503, 504):
            raise GitLabError(
                f"GitLab at {self.url} is not ready (HTTP {status} while trying to {doing}): wait until its "
                "webservice pods are ready and re-run",
                status=status,
            )
        if status == 404:
            raise GitLabError(
                f"GitLab at {self.url} has no {API_PREFIX}{path} (HTTP 404 while trying to {doing}): check that "
                "gitlab_url is GitLab's root address, not a group or project page",
                status=status,
            )
        raise GitLabError(f"GitLab at {self.url} refused to {doing}: HTTP {status}{detail}", status=status)

    def _json(self, response: requests.Response, doing: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise GitLabError(
                f"GitLab at {self.url} answered the request to {doing} with something that is not JSON: check "
                "that gitlab_url is GitLab's address"
            ) from None

    def applications(self) -> list[Application]:
        """Every instance-wide OAuth application, following GitLab's pagination when it paginates."""
        found: list[Application] = []
        page = 1
        doing = "list the OAuth applications"
        for _ in range(_MAX_PAGES):
            response = self._request(
                "GET", "/applications", doing, params={"per_page": _PAGE_SIZE, "page": page}
            )
            assert response is not None
            items = self._json(response, doing)
            if not isinstance(items, list):
                raise GitLabError(f"GitLab at {self.url} answered the request to {doing} with no list")
            found += [_application(item) for item in items]
            next_page = response.headers.get("X-Next-Page", "").strip()
            if not next_page:
                return sorted(found, key=lambda application: application.id)
            page = int(next_page)
        raise GitLabError(f"GitLab at {self.url} lists more than {_MAX_PAGES} pages of OAuth applications")

    def _issued(self, response: requests.Response, doing: str) -> IssuedApplication:
        body = self._json(response, doing)
        if not isinstance(body, Mapping) or not body.get("secret") or not body.get("application_id"):
            raise GitLabError(
                f"GitLab at {self.url} answered the request to {doing} without an application id and secret"
            )
        return IssuedApplication(_application(body), str(body["secret"]))

    def create_application(self, request: Mapping[str, Any]) -> IssuedApplication:
        doing = f"create OAuth application {request.get('name')!r}"
        response = self._request("POST", "/applications", doing, json=request)
        assert response is not None
        return self._issued(response, doing)

    def renew_secret(self, application: Application) -> IssuedApplication:
        doing = f"renew the secret of OAuth application {application.name!r} (id {application.id})"
        response = self._request(
            "POST", f"/applications/{application.id}/renew-secret", doing, absent_ok=True
        )
        if response is None:
            raise GitLabError(
                f"GitLab at {self.url} cannot renew the secret of OAuth application {application.name!r} "
                f"(id {application.id}): renew-secret needs GitLab 16.11 or later. Delete the application in "
                "Admin area > Applications and re-run: it is created again and its secret stored in Vault",
                status=404,
            )
        return self._issued(response, doing)

    def delete_application(self, application: Application) -> None:
        doing = f"delete OAuth application {application.name!r} (id {application.id})"
        self._request("DELETE", f"/applications/{application.id}", doing, absent_ok=True)

    def runner_exists(self, runner_id: int) -> bool:
        doing = f"look up runner {runner_id}"
        return self._request("GET", f"/runners/{runner_id}", doing, absent_ok=True) is not None

    def create_runner(self, request: Mapping[str, Any]) -> IssuedRunner:
        doing = f"create instance runner {request.get('description')!r}"
        response = self._request("POST", "/user/runners", doing, json=request)
        assert response is not None
        body = self._json(response, doing)
        if not isinstance(body, Mapping) or not body.get("token") or body.get("id") is None:
            raise GitLabError(
                f"GitLab at {self.url} answered the request to {doing} without a runner id and token"
            )
        return IssuedRunner(int(body["id"]), str(body["token"]))


@contextmanager
def open_gitlab(
    url: str, token_env: str, ca_cert: str | None = None, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> Iterator[GitLabClient]:
    """A client for one operation; the token is read now and dropped with the session."""
    token = read_admin_token(token_env, url)
    with _verify(ca_cert) as verify, requests.Session() as session:
        session.headers.update({"PRIVATE-TOKEN": token, "Accept": "application/json"})
        yield GitLabClient(url, token_env, session, verify, timeout)
