"""The security suite: attacks on the live stack (the app served over TCP with its worker,
its outbox and a real SMTP mailbox, on PostgreSQL and the Temporal dev server), each with
what it must get. One file per area; every fixture of the browser tests' stack is here too
(`live_server`, `mailbox`, `live_settings`, and their module-scoped twins).

No test sends anything to an address outside the loopback range (127.0.0.0/8, ::1): webhook
cases register URLs only, and a delivery-time check is tested with names resolving there."""

from __future__ import annotations

from tests.web.conftest import (
    live_server,
    live_settings,
    mailbox,
    module_database_url,
    module_live_server,
    module_mailbox,
    module_pool,
)

__all__ = [
    "live_server",
    "live_settings",
    "mailbox",
    "module_database_url",
    "module_live_server",
    "module_mailbox",
    "module_pool",
]
