"""``postloan keys rotate-pii``: rotate the keys that protect personal data at rest."""

from __future__ import annotations

from typing import Annotated

import typer

from postloan.cli import app

keys_app = typer.Typer(help="Keys (密钥)", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate-pii")
def rotate_pii(
    operator: Annotated[str, typer.Option("--user", help="The admin rotating the keys")],
    retire: Annotated[
        bool, typer.Option("--retire", help="Drop the old key pairs once nothing uses them")
    ] = False,
) -> None:
    """Re-encrypt and re-index personal data under a new key pair (stop imports first)."""
    from postloan.security.key_rotation import rotate_pii_keys
    from postloan.security.scope import authorize
    from postloan.security.users import active_user
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            admin = active_user(conn, operator)
            authorize(admin, "config.manage")
        done = rotate_pii_keys(store, retire=retire, actor=admin.username, role=admin.role)
    finally:
        store.close()
    retired = ", ".join(map(str, done.retired)) or "none"
    typer.echo(
        f"PII key {done.key_id} active: {done.values} values in {done.rows} rows re-encrypted; "
        f"retired keys: {retired}"
    )
