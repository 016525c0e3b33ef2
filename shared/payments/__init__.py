"""On-chain payments: reading a chain through web3 (``chain``), the rules a payment must
pass (``verify``), allow-listed ERC-20 tokens (``tokens``) and the local dev chain (``devchain``).

No web3 exception leaves this package: :mod:`shared.payments.chain` translates them.
"""
