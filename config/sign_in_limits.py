"""The sign-in limits (allauth's ACCOUNT_RATE_LIMITS): per account always, per address when known.

Behind a proxy REMOTE_ADDR is the proxy's, shared by everyone: a limit per address there locks
out every person at once after one person's (or one attacker's) failed sign-ins. So limits per
address apply only when the address is known to be the client's (config/client_address.py).
No Django here: settings.py builds its value with it.
"""

from __future__ import annotations

# allauth's limits (its defaults, made explicit) that count per address, and those per account.
_PER_ADDRESS = {
    "login_failed": "10/m/ip",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip",
    "reset_password_from_key": "20/m/ip",
    "request_login_code": "20/m/ip",
    "verify_phone": "3/m/ip",
}
_PER_ACCOUNT = {
    "login_failed": "5/5m/key",
    "reset_password": "5/m/key",
    "request_login_code": "3/m/key",
    "verify_phone": "1/30s/key",
}


def sign_in_rate_limits(*, per_address: bool, login_failed: str | None = None) -> dict[str, str]:
    """ACCOUNT_RATE_LIMITS: per account always, per address only with `per_address`.

    An empty rate turns allauth's default for that action off. `login_failed` replaces the
    failed sign-in rates whole (the LOGIN_FAILED_RATE_LIMIT setting).
    """
    limits = {}
    for action in _PER_ADDRESS.keys() | _PER_ACCOUNT.keys():
        rates = [_PER_ADDRESS.get(action) if per_address else None, _PER_ACCOUNT.get(action)]
        limits[action] = ",".join(rate for rate in rates if rate)
    if login_failed is not None:
        limits["login_failed"] = login_failed
    return limits
