"""Paid profile submissions: quote, on-chain payment, the paid pipeline, live status."""
