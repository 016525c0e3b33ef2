"""``flask ops ...``: the ops API for people on the box (no token: shell access is the credential).

    flask --app api.app ops schedules
    flask --app api.app ops set purge-temp --cron "0 1 * * *" --disable
    flask --app api.app ops run purge-temp [--inline] [--param dry_run=true]
    flask --app api.app ops runs --schedule purge-temp
    flask --app api.app ops queues | dead-letters | redrive [--id ID ...]
    flask --app api.app ops tokens create NAME | list | revoke ID
"""

from __future__ import annotations

import getpass
import json
import uuid
from typing import Any

import click
import redis
from flask import current_app
from flask.cli import AppGroup

from shared.errors import ShowreelError
from shared.ops import queues, runs, schedules, tokens
from shared.ops.tasks import build_context
from shared.redis_client import get_redis

ops_cli = AppGroup("ops", help="Schedules, runs, queues and dead letters (same as /api/ops/).")
tokens_cli = AppGroup("tokens", help="Issue, list and revoke ops tokens.")
ops_cli.add_command(tokens_cli)


def _deps():
    return current_app.extensions["showreel.db"], current_app.config["SETTINGS"]


def _print(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def _caller() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:100]
    except Exception:  # noqa: BLE001 - getuser raises KeyError/OSError/ImportError by platform; fall back
        return "cli"


def _params(pairs: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not name=value", param_hint="--param")
        try:
            params[name] = json.loads(raw)
        except ValueError:
            params[name] = raw
    return params


def _fail(exc: ShowreelError) -> None:
    extra = exc.extra.get("errors")
    raise click.ClickException(f"{exc.code}: {exc.detail}" + (f" {json.dumps(extra)}" if extra else ""))


@ops_cli.command("schedules")
def list_schedules_command() -> None:
    """List the schedules with their next run time."""
    from api.ops.routes import schedule_view

    db, settings = _deps()
    last = schedules.last_runs(db)
    _print([schedule_view(s, last.get(s.name)) for s in schedules.list_schedules(db, settings)])


@ops_cli.command("set")
@click.argument("name")
@click.option("--cron", help="five-field crontab line")
@click.option("--enable/--disable", "enabled", default=None)
@click.option("--timezone", help="IANA time zone name")
@click.option("--param", "pairs", multiple=True, help="task parameter name=value (JSON value)")
def set_schedule_command(name: str, cron: str | None, enabled: bool | None, timezone: str | None,
                         pairs: tuple[str, ...]) -> None:
    """Change a schedule; the scheduler applies it within SCHEDULER_TICK_SECONDS."""
    from api.ops.routes import schedule_view

    db, settings = _deps()
    try:
        schedule = schedules.update_schedule(db, settings, name, cron=cron, enabled=enabled, timezone=timezone,
                                             params=_params(pairs) or None, updated_by=_caller())
    except ShowreelError as exc:
        _fail(exc)
    _print(schedule_view(schedule, schedules.last_runs(db).get(name)))


@ops_cli.command("run")
@click.argument("name")
@click.option("--param", "pairs", multiple=True, help="task parameter name=value (JSON value)")
@click.option("--inline", is_flag=True, help="run here and now instead of on the light queue")
def run_command(name: str, pairs: tuple[str, ...], inline: bool) -> None:
    """Run a schedule's task now (on the light queue, or --inline here) and print the run."""
    db, settings = _deps()
    try:
        run = runs.request_run(db, settings, name, trigger="cli", params=_params(pairs), requested_by=_caller())
    except ShowreelError as exc:
        _fail(exc)
    if inline:
        runs.execute_run(build_context(settings, db), run.id)
    _print(runs.run_view(runs.get_run(db, run.id)))


@ops_cli.command("runs")
@click.option("--schedule")
@click.option("--limit", default=20, show_default=True)
def runs_command(schedule: str | None, limit: int) -> None:
    """Recent runs, newest first."""
    db, _ = _deps()
    _print([runs.run_view(run) for run in runs.list_runs(db, schedule=schedule, limit=limit)])


@ops_cli.command("show-run")
@click.argument("run_id", type=click.UUID)
def show_run_command(run_id: uuid.UUID) -> None:
    """One run with what it did."""
    db, _ = _deps()
    try:
        _print(runs.run_view(runs.get_run(db, run_id)))
    except ShowreelError as exc:
        _fail(exc)


@ops_cli.command("queues")
def queues_command() -> None:
    """Queue depths, stream backlogs and the outbox backlog."""
    db, settings = _deps()
    try:
        client = get_redis(settings)
        depths, streams = queues.queue_depths(client), queues.stream_backlogs(client)
    except redis.RedisError as exc:
        raise click.ClickException(f"Redis is unreachable: {type(exc).__name__}") from None
    _print({"queues": depths, "streams": streams, "outbox": queues.outbox_backlog(db)})


@ops_cli.command("dead-letters")
@click.option("--source", type=click.Choice(["all", "dramatiq", "events"]), default="all")
@click.option("--queue", type=click.Choice(list(queues.QUEUES)))
@click.option("--limit", default=100, show_default=True)
def dead_letters_command(source: str, queue: str | None, limit: int) -> None:
    """Dead-lettered messages, newest first."""
    _, settings = _deps()
    try:
        client = get_redis(settings)
        found = {"counts": queues.dead_letter_counts(client),
                 "dead_letters": queues.dead_letters(client, source=source, queue=queue, limit=limit)}
    except redis.RedisError as exc:
        raise click.ClickException(f"Redis is unreachable: {type(exc).__name__}") from None
    _print(found)


@ops_cli.command("redrive")
@click.option("--source", type=click.Choice(["all", "dramatiq", "events"]), default="all")
@click.option("--queue", type=click.Choice(list(queues.QUEUES)))
@click.option("--id", "ids", multiple=True, help="only these message or entry ids")
@click.option("--inline", is_flag=True, help="re-drive here and now instead of on the light queue")
def redrive_command(source: str, queue: str | None, ids: tuple[str, ...], inline: bool) -> None:
    """Put dead letters back on their queue or stream."""
    ctx = click.get_current_context()
    ctx.invoke(run_command, name="redrive-dead-letters", inline=inline,
               pairs=(f"source={json.dumps(source)}", f"queue={json.dumps(queue or '')}",
                      f"ids={json.dumps(list(ids))}"))


@tokens_cli.command("create")
@click.argument("name")
def create_token_command(name: str) -> None:
    """Issue an ops token (shown once; only its hash is stored)."""
    db, _ = _deps()
    row, token = tokens.issue(db, name)
    _print({"id": str(row.id), "name": row.name, "token": token})


@tokens_cli.command("list")
def list_tokens_command() -> None:
    """Issued ops tokens (never the tokens themselves)."""
    db, _ = _deps()
    _print([{"id": str(t.id), "name": t.name, "prefix": t.prefix, "created_at": t.created_at,
             "revoked_at": t.revoked_at} for t in tokens.list_tokens(db)])


@tokens_cli.command("revoke")
@click.argument("token_id", type=click.UUID)
def revoke_token_command(token_id: uuid.UUID) -> None:
    """Revoke an issued ops token."""
    db, _ = _deps()
    try:
        row = tokens.revoke(db, token_id)
    except ShowreelError as exc:
        _fail(exc)
    _print({"id": str(row.id), "name": row.name, "revoked_at": row.revoked_at})
