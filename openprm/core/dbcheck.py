"""`python -m openprm.core.dbcheck URL`: exit 0 when the database at URL answers, 1 otherwise."""

from __future__ import annotations

import sys

import dj_database_url


def reachable(url: str) -> bool:
    config = dj_database_url.parse(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        return True
    import psycopg

    try:
        with psycopg.connect(
            host=config.get("HOST") or "127.0.0.1",
            port=int(config.get("PORT") or 5432),
            user=config.get("USER") or "postgres",
            password=config.get("PASSWORD") or None,
            dbname=config.get("NAME") or "postgres",
            connect_timeout=5,
        ):
            return True
    except psycopg.OperationalError:
        return False


if __name__ == "__main__":
    sys.exit(0 if reachable(sys.argv[1]) else 1)
