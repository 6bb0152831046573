"""PostgreSQL: migrations and the queries shared by activities and the API."""
