"""Fixtures of the paid-profile API tests: a real chain node and small media."""

from __future__ import annotations

import pytest

from tests.support.chain import Anvil
from tests.support.media import h264_mp4, png_bytes
from tests.support.profile_flow import Media


@pytest.fixture(scope="module")
def anvil():
    """anvil (a real JSON-RPC node) on loopback, one per test module."""
    node = Anvil()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Media:
    """A small avatar and a 1 s silent clip: enough for payments; modules that look at the output override it."""
    path = h264_mp4(tmp_path_factory.mktemp("media") / "clip.mp4", seconds=1.0, size="160x120", audio=False)
    return Media(png=png_bytes(96, 96), mp4=path.read_bytes())


@pytest.fixture()
def make_client(db, redis_client, settings):
    """A test client of a new app with ``settings`` changed by the overrides (one app per web host)."""
    from api.app import create_app

    def make(**overrides):
        app = create_app(settings.replace(**overrides))
        app.config["TESTING"] = True
        return app.test_client()

    return make
