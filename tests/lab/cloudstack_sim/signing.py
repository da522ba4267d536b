"""Request signature verification, as ApiServer.verifyRequest does it."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from urllib.parse import quote

# java.net.URLEncoder leaves only these unencoded (space becomes '+', which CloudStack
# then turns into %20): note that '~' IS encoded, unlike Python's quote().
_JAVA_SAFE = "*-_."


def java_url_encode(value: str) -> str:
    """URLEncoder.encode(value, "UTF-8").replaceAll("\\+", "%20")."""
    return quote(value, safe=_JAVA_SAFE).replace("~", "%7E")


def canonical_string(params: dict[str, str]) -> str:
    """Sorted (case-sensitive) name=encoded-value pairs, lower-cased; signature excluded."""
    names = sorted(name for name in params if name.lower() != "signature")
    return "&".join(f"{name}={java_url_encode(params[name])}" for name in names).lower()


def sign(params: dict[str, str], secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), canonical_string(params).encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(params: dict[str, str], secret: str, signature: str) -> bool:
    return hmac.compare_digest(sign(params, secret).encode("ascii"), signature.encode("utf-8", "replace"))


def parse_expires(text: str) -> datetime | None:
    """DateUtil.parseTZDateString: ISO forms with +0000, +00:00, Z, optional milliseconds."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def expired(params: dict[str, str], now: datetime | None = None) -> bool:
    """True when signatureVersion=3 and expires is missing, unreadable or in the past."""
    if params.get("signatureVersion") != "3":
        return False
    expires = parse_expires(params.get("expires", ""))
    if expires is None:
        return True
    return expires < (now or datetime.now(timezone.utc))
