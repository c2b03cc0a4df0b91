"""Command-line doors: `flask seed-demo`, `flask tick`."""

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
