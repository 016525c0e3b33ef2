"""Ops API (``/api/ops/``, ops token) and the ``flask ops`` CLI group."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def init_ops(app: Flask, api: Api) -> None:
    """Register the ops routes, their bearer security scheme and the ``flask ops`` CLI group."""
    from api.ops.cli import ops_cli
    from api.ops.routes import blp

    api.spec.components.security_scheme("opsToken", {"type": "http", "scheme": "bearer",
                                                     "description": "OPS_TOKEN or a token from `flask ops tokens`"})
    api.register_blueprint(blp)
    app.cli.add_command(ops_cli)
