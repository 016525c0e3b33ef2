"""Schemas of Sign-In with Ethereum."""

from marshmallow import fields

from api.schemas import Schema


class NonceQuery(Schema):
    address = fields.String(required=True, metadata={"description": "the wallet that will sign, 0x + 40 hex"})


class Nonce(Schema):
    nonce = fields.String()
    message = fields.String(metadata={"description": "the EIP-4361 message to sign (personal_sign)"})
    address = fields.String(metadata={"description": "EIP-55 checksum form of the address"})
    expires_at = fields.String()


class LoginBody(Schema):
    message = fields.String(required=True)
    signature = fields.String(required=True, metadata={"description": "0x + 130 hex digits"})


class Session(Schema):
    token = fields.String(metadata={"description": "send as Authorization: Bearer <token>; browsers also get "
                                                   "an HttpOnly cookie"})
    address = fields.String()
    expires_at = fields.DateTime()


class Me(Schema):
    address = fields.String()
