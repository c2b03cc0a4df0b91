"""Command-line doors: `flask seed-demo`, `flask tick`, `flask rotate-provider-keys`."""

from __future__ import annotations

import click
from flask import Flask


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Create the `demo` tenant once, with a user per role."""
        from saas.demo import DEMO_LOGINS, seed_demo

        created = seed_demo()
        click.echo("Demo tenant created." if created else "Demo tenant already present.")
        for role, email, password in DEMO_LOGINS:
            click.echo(f"  {role:<22} {email:<24} {password}")

    @app.cli.command("rotate-provider-keys")
    def rotate_provider_keys_command() -> None:
        """Encrypt every stored provider key again with the first of MESSAGING_ENCRYPTION_KEYS
        (after putting a new key first; then the old key can be dropped)."""
        from saas.messaging.settings_service import reencrypt_stored_keys

        rotated, unreadable = reencrypt_stored_keys()
        click.echo(f"{rotated} stored provider key(s) encrypted with the first key.")
        if unreadable:
            click.echo(f"{unreadable} stored key(s) could not be read with any key here: left "
                       "as they are (enter them again in Settings).", err=True)
            raise SystemExit(1)
