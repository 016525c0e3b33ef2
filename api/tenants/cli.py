"""``flask --app 'api.app:wsgi()' tenants ...``: the ops CLI for tenants (no ops token: local access)."""

from __future__ import annotations

import functools
import json
import uuid

import click
from flask import current_app
from flask.cli import AppGroup

from shared.errors import ShowreelError
from shared.tenants import service
from shared.tenants.storage import public_config

tenants_cli = AppGroup("tenants", help="Create and manage tenants (business clients).")


def _deps():
    return current_app.extensions["showreel.db"], current_app.config["SETTINGS"]


def _errors_as_messages(command):
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ShowreelError as exc:
            raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    return wrapper


def _json_option(raw: str | None, what: str):
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise click.BadParameter(f"{what} must be JSON") from None


def _echo_tenant(tenant) -> None:
    db, _ = _deps()
    click.echo(json.dumps({
        "id": str(tenant.id), "name": tenant.name, "storage": public_config(tenant.storage_config),
        "limits": tenant.limits,
        "webhook_secrets": [service.secret_info(entry) for entry in tenant.webhook_secrets or []],
        "api_keys": [{"id": str(k.id), "prefix": k.prefix, "revoked": k.revoked_at is not None}
                     for k in service.list_keys(db, tenant.id)],
    }, indent=2))


@tenants_cli.command("list")
def list_command() -> None:
    """List tenants: id, name, storage provider, active keys."""
    db, _ = _deps()
    for tenant in service.list_tenants(db):
        active = sum(1 for key in service.list_keys(db, tenant.id) if key.revoked_at is None)
        provider = (tenant.storage_config or {}).get("provider", "platform default")
        click.echo(f"{tenant.id}  {tenant.name:<24} storage={provider:<16} active_keys={active}")


@tenants_cli.command("create")
@click.argument("name")
@click.option("--storage", help='Storage connection as JSON, e.g. \'{"provider": "local", "root": "/srv/acme"}\'')
@click.option("--limits", help='Limits as JSON, e.g. \'{"requests_per_minute": 120, "video_concurrency": 1}\'')
@_errors_as_messages
def create_command(name: str, storage: str | None, limits: str | None) -> None:
    """Create a tenant; prints its first API key (shown once) and webhook secret."""
    db, settings = _deps()
    tenant, key = service.create_tenant(db, settings, name, storage=_json_option(storage, "--storage"),
                                        limits=_json_option(limits, "--limits") or {})
    click.echo(f"tenant {tenant.name} ({tenant.id})")
    click.echo(f"api key (shown once): {key}")
    click.echo(f"webhook secret (shown once): {tenant.webhook_secrets[0]['secret']}")


@tenants_cli.command("show")
@click.argument("tenant")
@_errors_as_messages
def show_command(tenant: str) -> None:
    """Show a tenant (by name or id)."""
    db, _ = _deps()
    _echo_tenant(service.find_tenant(db, tenant))


@tenants_cli.command("set-storage")
@click.argument("tenant")
@click.argument("storage")
@_errors_as_messages
def set_storage_command(tenant: str, storage: str) -> None:
    """Set a tenant's storage connection (JSON, checked with a test write) or 'default'."""
    db, settings = _deps()
    found = service.find_tenant(db, tenant)
    config = None if storage == "default" else _json_option(storage, "STORAGE")
    _echo_tenant(service.update_tenant(db, settings, found.id, storage=config))


@tenants_cli.command("set-limits")
@click.argument("tenant")
@click.argument("limits")
@_errors_as_messages
def set_limits_command(tenant: str, limits: str) -> None:
    """Replace a tenant's own limits (JSON; {} means the platform defaults)."""
    db, settings = _deps()
    found = service.find_tenant(db, tenant)
    _echo_tenant(service.update_tenant(db, settings, found.id, limits=_json_option(limits, "LIMITS")))


@tenants_cli.command("issue-key")
@click.argument("tenant")
@_errors_as_messages
def issue_key_command(tenant: str) -> None:
    """Issue another API key (rotation); prints it once."""
    db, _ = _deps()
    row, key = service.create_key(db, service.find_tenant(db, tenant).id)
    click.echo(f"api key {row.id} (shown once): {key}")


@tenants_cli.command("revoke-key")
@click.argument("tenant")
@click.argument("key_id", type=click.UUID)
@_errors_as_messages
def revoke_key_command(tenant: str, key_id: uuid.UUID) -> None:
    """Revoke one API key at once."""
    db, _ = _deps()
    service.revoke_key(db, service.find_tenant(db, tenant).id, key_id)
    click.echo(f"revoked {key_id}")


@tenants_cli.command("add-webhook-secret")
@click.argument("tenant")
@click.option("--secret", help="whsec_... to add; omitted: one is generated")
@_errors_as_messages
def add_secret_command(tenant: str, secret: str | None) -> None:
    """Add a webhook signing secret (deliveries are signed with every active one)."""
    db, _ = _deps()
    entry = service.add_webhook_secret(db, service.find_tenant(db, tenant).id, secret)
    click.echo(f"webhook secret {entry['id']} (shown once): {entry['secret']}")


@tenants_cli.command("remove-webhook-secret")
@click.argument("tenant")
@click.argument("secret_id")
@_errors_as_messages
def remove_secret_command(tenant: str, secret_id: str) -> None:
    """Remove a webhook signing secret (the end of a rotation)."""
    db, _ = _deps()
    service.remove_webhook_secret(db, service.find_tenant(db, tenant).id, secret_id)
    click.echo(f"removed {secret_id}")


@tenants_cli.command("delete")
@click.argument("tenant")
@_errors_as_messages
def delete_command(tenant: str) -> None:
    """Delete a tenant without jobs."""
    db, _ = _deps()
    found = service.find_tenant(db, tenant)
    service.delete_tenant(db, found.id)
    click.echo(f"deleted {found.name}")
