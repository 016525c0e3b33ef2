"""Development helpers of the embedded default (404 in production): the local dev chain."""

from __future__ import annotations

from flask import abort, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from shared.payments import devchain
from shared.payments.terms import terms_from_settings

blp = Blueprint("dev", __name__, url_prefix="/api/dev", description="Embedded default only: the dev chain")


class Account(Schema):
    address = fields.String()
    private_key = fields.String()


class DevChain(Schema):
    rpc_url = fields.String(allow_none=True, metadata={"description": "null when ETH_RPC_URL is unset"})
    chain_id = fields.Integer()
    accounts = fields.List(fields.Nested(Account), metadata={"description": "funded test accounts (public keys!)"})
    receiver = fields.String(metadata={"description": "where payments go (PAYMENT_RECEIVER)"})
    price_wei = fields.String()


@blp.before_request
def _embedded_only():
    if current_app.config["SETTINGS"].is_production:
        abort(404)


@blp.route("/chain/")
class DevChainView(MethodView):
    @blp.response(200, DevChain)
    def get(self):
        """The local dev chain: JSON-RPC URL, chain id and funded accounts with their private keys."""
        settings = current_app.config["SETTINGS"]
        terms = terms_from_settings(settings)
        return {"rpc_url": settings.ETH_RPC_URL or None, "chain_id": settings.PAYMENT_CHAIN_ID,
                "accounts": [{"address": address, "private_key": key} for address, key in devchain.PAYERS],
                "receiver": terms.receiver, "price_wei": str(terms.price_wei)}
