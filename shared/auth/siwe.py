"""EIP-4361 (Sign-In with Ethereum) messages: build, parse, recover the signer.

The ``siwe`` package on PyPI does not import with today's dependencies, so this is
the message grammar of the EIP and ``eth_account``'s EIP-191 recovery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.auth.errors import InvalidSignature, InvalidSiweMessage

_HEADER = re.compile(r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://)?(?P<domain>[^\s/?#]+) wants you to sign in with "
                     r"your Ethereum account:$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NONCE = re.compile(r"^[A-Za-z0-9]{8,}$")
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")
_FIELDS = (("URI", "uri", True), ("Version", "version", True), ("Chain ID", "chain_id", True),
           ("Nonce", "nonce", True), ("Issued At", "issued_at", True), ("Expiration Time", "expiration_time", False),
           ("Not Before", "not_before", False), ("Request ID", "request_id", False))


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: datetime
    statement: str | None = None
    version: str = "1"
    scheme: str | None = None
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """The message exactly as the wallet shows and signs it."""
        origin = f"{self.scheme}://{self.domain}" if self.scheme else self.domain
        lines = [f"{origin} wants you to sign in with your Ethereum account:", self.address, ""]
        if self.statement:
            lines += [self.statement, ""]
        else:
            lines += [""]
        lines += [f"URI: {self.uri}", f"Version: {self.version}", f"Chain ID: {self.chain_id}",
                  f"Nonce: {self.nonce}", f"Issued At: {_iso(self.issued_at)}"]
        if self.expiration_time:
            lines.append(f"Expiration Time: {_iso(self.expiration_time)}")
        if self.not_before:
            lines.append(f"Not Before: {_iso(self.not_before)}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {resource}" for resource in self.resources]
        return "\n".join(lines)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidSiweMessage(f"{name} is not an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise InvalidSiweMessage(f"{name} has no time zone")
    return moment.astimezone(UTC)


def parse_message(text: str) -> SiweMessage:
    """Parse an EIP-4361 message; raises :class:`InvalidSiweMessage` naming what is wrong."""
    if not isinstance(text, str) or len(text) > 10_000:
        raise InvalidSiweMessage("the message must be text of at most 10000 characters")
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) < 9:
        raise InvalidSiweMessage("the message is too short")
    header = _HEADER.match(lines[0])
    if not header:
        raise InvalidSiweMessage("the first line must be '<domain> wants you to sign in with your Ethereum account:'")
    if not _ADDRESS.match(lines[1]):
        raise InvalidSiweMessage("the second line must be the 0x address")
    if lines[2] != "":
        raise InvalidSiweMessage("an empty line must follow the address")
    index = 3
    statement = None
    if lines[index] != "":
        statement = lines[index]
        index += 1
        if lines[index] != "":
            raise InvalidSiweMessage("an empty line must follow the statement")
    index += 1
    values: dict[str, str] = {}
    for label, key, required in _FIELDS:
        if index < len(lines) and lines[index].startswith(f"{label}: "):
            values[key] = lines[index][len(label) + 2:]
            index += 1
        elif required:
            raise InvalidSiweMessage(f"the '{label}:' line is missing or out of order")
    resources: list[str] = []
    if index < len(lines) and lines[index] == "Resources:":
        index += 1
        while index < len(lines) and lines[index].startswith("- "):
            resources.append(lines[index][2:])
            index += 1
    if index != len(lines):
        raise InvalidSiweMessage(f"unexpected text on line {index + 1}")
    if values["version"] != "1":
        raise InvalidSiweMessage("only version 1 exists")
    if not values["chain_id"].isdigit():
        raise InvalidSiweMessage("Chain ID must be a number")
    if not _NONCE.match(values["nonce"]):
        raise InvalidSiweMessage("the nonce must be at least 8 letters or digits")
    return SiweMessage(
        scheme=header.group("scheme"), domain=header.group("domain"), address=lines[1], statement=statement,
        uri=values["uri"], version="1", chain_id=int(values["chain_id"]), nonce=values["nonce"],
        issued_at=_parse_time(values["issued_at"], "Issued At"),
        expiration_time=_parse_time(values["expiration_time"], "Expiration Time")
        if "expiration_time" in values else None,
        not_before=_parse_time(values["not_before"], "Not Before") if "not_before" in values else None,
        request_id=values.get("request_id"), resources=tuple(resources))


def recover_signer(text: str, signature: str) -> str:
    """The checksum address that signed ``text`` (EIP-191 personal_sign); raises InvalidSignature."""
    if not isinstance(signature, str) or not _SIGNATURE.match(signature):
        raise InvalidSignature("the signature must be 0x followed by 130 hex digits")
    # Imported on first use (outside the try: a broken install must not read as a bad signature):
    # the eth stack is ~30 MB resident that the web process needs only when someone signs in.
    from eth_account import Account
    from eth_account.messages import encode_defunct

    try:
        return Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception:  # noqa: BLE001 - eth_keys raises several types for malformed v/r/s
        raise InvalidSignature("the signature does not recover to any wallet") from None
