"""The control plane's bearer tokens: JWTs signed with the secret it issued (HS256, PyJWT).

The SDK reads the audience of the token it sends with a pipeline job
(`JobOperations._set_headers_with_user_aml_token`), so a token must be a JWT for the scope asked
for; the plane accepts only those signed with its own secret (kept 0600 in the state directory) and
not expired, so a token from anywhere else, or a bare guess, is refused.
"""

from __future__ import annotations

import hmac
import time

import jwt

ALGORITHM = "HS256"
#: What Entra ID would put there; the plane checks the signature, not who the caller claims to be.
TENANT = "00000000-0000-0000-0000-000000000000"


def issue(secret: str, scope: str, lifetime: int = 3600) -> tuple[str, int]:
    """(token, expiry in epoch seconds) for `scope` (e.g. `https://management.azure.com/.default`)."""
    expires = int(time.time()) + lifetime
    audience = scope.removesuffix("/.default").rstrip("/")
    claims = {"aud": audience, "tid": TENANT, "oid": "amlops-local", "exp": expires}
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


def valid(secret: str, token: str) -> bool:
    """The secret itself (for curl and tests), or a JWT signed with it and not expired, for any audience
    (the plane stands in for every Azure service)."""
    if hmac.compare_digest(token.encode(), secret.encode()):
        return True
    try:
        jwt.decode(token, secret, algorithms=[ALGORITHM], options={"verify_aud": False, "require": ["exp"]})
    except jwt.InvalidTokenError:
        return False
    return True
