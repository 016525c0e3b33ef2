from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.moderation.lexicon import read_seed_allowlist, read_seed_terms
from shared.moderation.matcher import Matcher

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def seed_matcher() -> Matcher:
    """The checker over the shipped lists (what a fresh database is seeded with)."""
    return Matcher(read_seed_terms(), [stem.stem for stem in read_seed_allowlist()])


def load_cases(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
