"""Wiring shared by the entry points: settings, logging, clients, the local stack."""
