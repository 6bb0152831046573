"""Every side effect of a cooperation's lifecycle, idempotent by construction."""
