"""The API's fixtures (the app on the real stack, a token per role) for the notify tests."""

from tests.api.conftest import auth, http

__all__ = ["auth", "http"]
