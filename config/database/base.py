"""Django's PostgreSQL backend with a health check that costs no round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection at the first query of every
request by sending `SELECT 1`: one round trip more on every page and API request (on the path
of one recorded behaviour, one of seven; bench/NOTES.md). A connection that
sits idle between requests has nothing to read; when the server ends it (a restart, a failover,
`pg_terminate_backend`, an idle timeout) it sends its last message and closes the socket, which
becomes readable. So an idle connection whose socket has something to read is closed and a new
one opened, as Django does when `SELECT 1` fails. A connection in any other state gets
Django's own check.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return bool(super().is_usable())
        try:
            readable, _writable, _failed = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        # Anything waiting on an idle connection is the server's goodbye (or, harmlessly, a
        # parameter it reports changed): open a new connection rather than read it.
        return not readable
