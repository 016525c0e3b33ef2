"""Why a payment is refused; each error has a stable code (docs/ERRORS.md)."""

from __future__ import annotations

from shared.errors import Conflict, InvalidInput, PaymentRequired, RateLimited, ServiceUnavailable


class PaymentRefused(PaymentRequired):
    """Base of the 402 refusals: the transaction cannot pay for this submission."""


class PaymentUnderpaid(PaymentRefused):
    code = "payment_underpaid"
    title = "The payment is less than the quoted price"


class PaymentWrongRecipient(PaymentRefused):
    code = "payment_wrong_recipient"
    title = "The payment did not go to the platform's address"


class PaymentWrongSender(PaymentRefused):
    code = "payment_wrong_sender"
    title = "The payment was not sent from the signed-in wallet"


class PaymentFailedTx(PaymentRefused):
    code = "payment_failed_tx"
    title = "The transaction failed on chain"


class PaymentWrongChain(PaymentRefused):
    code = "payment_wrong_chain"
    title = "The transaction is not on the chain the quote names"


class PaymentUnknownToken(PaymentRefused):
    code = "payment_unknown_token"
    title = "The transfer is of a token that is not accepted"


class PaymentQuoteExpired(PaymentRefused):
    code = "payment_quote_expired"
    title = "The payment came after the quote expired"


class PaymentNotFound(PaymentRefused):
    code = "payment_not_found"
    title = "The transaction was never seen on chain"


class TxAlreadyUsed(Conflict):
    code = "tx_already_used"
    title = "This transaction already paid for a submission"


class ChainUnavailable(ServiceUnavailable):
    code = "chain_unavailable"
    title = "The chain could not be reached"


class PaymentsNotConfigured(ServiceUnavailable):
    code = "payments_not_configured"
    title = "Payments are not configured"


class TooManyPendingPayments(RateLimited):
    code = "too_many_pending_payments"
    title = "This wallet has too many payments waiting for the chain"


class InvalidSettings(InvalidInput):
    """A payment setting holds a malformed value (a PAYMENT_TOKENS entry that is not ``contract:price``)."""

    code = "invalid_settings"
