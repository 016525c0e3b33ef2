"""Schemas of submissions and payments."""

from marshmallow import fields

from api.schemas import Schema


class CreateSubmission(Schema):
    profile_data = fields.Dict(required=True, metadata={
        "description": "the profile form: name, url, activity_hobbies, hashtags ('#a #b' or a list), is_incognito "
                       "(the rules of POST /api/forms/validate/)"})
    image_upload_id = fields.UUID(required=True, metadata={"description": "an image from POST /api/uploads/"})
    video_upload_id = fields.UUID(required=True, metadata={"description": "a video from POST /api/uploads/"})


class TokenPrice(Schema):
    contract = fields.String()
    amount = fields.String(metadata={"description": "in the token's smallest unit"})


class Quote(Schema):
    to = fields.String(metadata={"description": "the receiver address"})
    amount_wei = fields.String(metadata={"description": "price in wei, as a decimal string"})
    chain_id = fields.Integer()
    expires_at = fields.String()
    tokens = fields.List(fields.Nested(TokenPrice), metadata={"description": "accepted ERC-20 payments"})


class CreatedSubmission(Schema):
    id = fields.UUID()
    status = fields.String()
    payment = fields.Nested(Quote)


class PaymentBody(Schema):
    tx_hash = fields.String(required=True, metadata={"description": "0x + 64 hex digits"})


class PaymentAccepted(Schema):
    id = fields.UUID()
    status = fields.String(metadata={"description": "payment_pending (checked until its block is final) or paid"})
    payment = fields.Dict(allow_none=True)


class Submission(Schema):
    id = fields.UUID()
    wallet = fields.String()
    status = fields.String(metadata={"description": "awaiting_payment, payment_pending, paid, processing, "
                                                    "published, rejected, failed or expired"})
    steps = fields.Dict(metadata={"description": "convert / preview / upload / persist: {state, deliveries}"})
    quote = fields.Nested(Quote)
    payment = fields.Dict(allow_none=True)
    payment_error = fields.Dict(allow_none=True)
    error = fields.Dict(allow_none=True)
    profile_data = fields.Dict()
    profile_url = fields.String(allow_none=True)
    events_url = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
