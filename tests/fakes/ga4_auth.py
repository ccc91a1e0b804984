"""Service-account keys for the fake GA4: key files, RS256 JWT checks, and an OAuth2 JWT-bearer token endpoint."""

from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import exceptions as auth_exc
from google.auth import jwt

from tests.fakes.ga4_schema import ANALYTICS_SCOPES

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600
_HELP = ("Expected OAuth 2 access token, login cookie or other valid authentication credential. "
         "See https://developers.google.com/identity/sign-in/web/devconsole-project.")
MISSING_MESSAGE = f"Request is missing required authentication credential. {_HELP}"
INVALID_MESSAGE = f"Request had invalid authentication credentials. {_HELP}"
SCOPE_MESSAGE = "Request had insufficient authentication scopes."


def make_service_account(tmp_dir: Path | str, token_uri: str, *, client_email: str | None = None,
                         private_key_id: str | None = None, project_id: str = "journeymap-test",
                         ) -> tuple[Path, str]:
    """Write a fresh service-account JSON key file that google.oauth2.service_account accepts.

    Args:
        tmp_dir: where to write the file (created if missing).
        token_uri: the OAuth2 token endpoint written into the key, e.g. the fake's `/token`.
        client_email: the account's email; pass an existing one (with its `private_key_id`) to forge a key.
        private_key_id: the key id the SDK puts in the JWT header as `kid`.
        project_id: the key's project.

    Returns:
        The key file's path and the PEM of its public key.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    key_id = private_key_id or secrets.token_hex(20)
    email = client_email or f"ga4-reader-{secrets.token_hex(3)}@{project_id}.iam.gserviceaccount.com"
    info = {
        "type": "service_account", "project_id": project_id, "private_key_id": key_id,
        "private_key": private_pem, "client_email": email, "client_id": str(10**20 + secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email.replace('@', '%40')}",
        "universe_domain": "googleapis.com",
    }
    folder = Path(tmp_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"service-account-{key_id[:8]}.json"
    path.write_text(json.dumps(info, indent=2), encoding="utf-8")
    return path, public_pem


def key_identity(path: Path) -> tuple[str, str]:
    """The (private_key_id, client_email) of a key file."""
    info = json.loads(Path(path).read_text(encoding="utf-8"))
    return str(info["private_key_id"]), str(info["client_email"])


class AuthFailure(Exception):
    """Why a bearer token or an assertion was refused; `status` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


class TokenAuthority:
    """Trusted public keys, and the access tokens the fake's /token endpoint has issued (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[str, str]] = {}  # kid → (client_email, public PEM)
        self._tokens: dict[str, tuple[str, frozenset[str], float]] = {}  # token → (email, scopes, expiry)
        self.tokens_issued = 0

    def trust(self, key_id: str, client_email: str, public_pem: str) -> None:
        """Accept JWTs signed by this key (and claiming to come from this account)."""
        with self._lock:
            self._keys[key_id] = (client_email, public_pem)

    def _verify(self, token: str) -> dict[str, Any]:
        with self._lock:
            keys = dict(self._keys)
        try:
            claims = jwt.decode(token, certs={kid: pem for kid, (_, pem) in keys.items()}, verify=True,
                                audience=None, clock_skew_in_seconds=10)
        except (ValueError, auth_exc.GoogleAuthError) as exc:
            raise AuthFailure(401, "ACCESS_TOKEN_TYPE_UNSUPPORTED", f"{INVALID_MESSAGE} ({exc})") from None
        kid = jwt.decode_header(token).get("kid")
        emails = {keys[kid][0]} if kid in keys else {email for email, _ in keys.values()}
        if claims.get("iss") not in emails:
            raise AuthFailure(401, "ACCESS_TOKEN_TYPE_UNSUPPORTED", f"{INVALID_MESSAGE} (unknown issuer)")
        return dict(claims)

    def issue(self, form_body: bytes) -> dict[str, Any]:
        """Answer a JWT-bearer grant: verify the assertion, return an access token (OAuth2 JSON)."""
        form = {k: v[0] for k, v in parse_qs(form_body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != JWT_BEARER:
            raise AuthFailure(400, "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type')}")
        try:
            claims = self._verify(form.get("assertion", ""))
        except AuthFailure:
            raise AuthFailure(400, "invalid_grant", "Invalid JWT Signature.") from None
        token = f"ya29.fake-{secrets.token_urlsafe(32)}"
        scopes = frozenset(str(claims.get("scope", "")).split())
        with self._lock:
            self._tokens[token] = (str(claims.get("sub") or claims["iss"]), scopes, time.time() + TOKEN_LIFETIME)
            self.tokens_issued += 1
        return {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME}

    def check_bearer(self, authorization: str | None) -> str:
        """The caller's identity for an `Authorization` header, or AuthFailure (401 or 403 for scopes)."""
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthFailure(401, "CREDENTIALS_MISSING", MISSING_MESSAGE)
        token = authorization.removeprefix("Bearer ").strip()
        with self._lock:
            issued = self._tokens.get(token)
        if issued is not None:
            email, scopes, expiry = issued
            if expiry < time.time():
                raise AuthFailure(401, "ACCESS_TOKEN_EXPIRED", INVALID_MESSAGE)
        else:
            claims = self._verify(token)
            email, scopes = str(claims["iss"]), frozenset(str(claims.get("scope", "")).split())
            if "scope" not in claims:  # an audience-bound JWT (aud = https://<service>/) carries no scopes
                return email
        if not scopes & ANALYTICS_SCOPES:
            raise AuthFailure(403, "ACCESS_TOKEN_SCOPE_INSUFFICIENT", SCOPE_MESSAGE)
        return email
