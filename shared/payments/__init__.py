"""On-chain payments: reading a chain through web3 (``chain``), the rules a payment must
pass (``verify``), what the platform asks for, allow-listed ERC-20 tokens included (``terms``),
wallet addresses (``wallet``) and the local dev chain (``devchain``, ``devwallet``).

No web3 exception leaves this package: :mod:`shared.payments.chain` translates them.
"""
