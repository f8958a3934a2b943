"""The portal's browser-facing rules in one place: headers, CSRF, cookies.

- Content-Security-Policy: scripts only from this server's own files (no inline script, no
  eval, nothing from another origin); styles from our files too, unless a page asks for
  inline styles (plotly.js writes its own <style> rules). Forms post only to this origin; no
  framing.
- CSRF: a per-session random token (synchronizer pattern), sent back in every form as
  `csrf_token` (or by a static script as the `X-CSRF-Token` header) and compared in constant
  time before any handler of an unsafe method runs.
- Session cookie: HttpOnly, SameSite=Lax, Secure when the portal is served over HTTPS.
"""

from __future__ import annotations

import secrets

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_CSP = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
}


def content_security_policy(*, inline_styles: bool = False) -> str:
    """The CSP header value (never 'unsafe-inline' or 'unsafe-eval' for scripts)."""
    policy = dict(_CSP)
    if inline_styles:
        policy["style-src"] = "'self' 'unsafe-inline'"
    return "; ".join(f"{key} {value}" for key, value in policy.items())


def security_headers(*, inline_styles: bool = False) -> dict[str, str]:
    """Headers of every portal page."""
    return {
        "Content-Security-Policy": content_security_policy(inline_styles=inline_styles),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }


def csrf_matches(expected: str | None, sent: str | None) -> bool:
    """True when the token sent with a form equals the session's (constant-time compare)."""
    if not expected or not sent:
        return False
    return secrets.compare_digest(expected.encode(), sent.encode())


def cookie_options(*, secure: bool, path: str) -> dict[str, object]:
    """Options for the session cookie (no Max-Age: it ends with the browser session)."""
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": path or "/"}


__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "UNSAFE_METHODS",
    "content_security_policy",
    "cookie_options",
    "csrf_matches",
    "security_headers",
]
