"""The sequencer's HTTP API with a real redis-server."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from auditpipe_cli.remote import create_key as make_key
from auditpipe_sequencer.app import create_app
from auditpipe_sequencer.settings import SequencerSettings

pytestmark = pytest.mark.integration


def test_ranges_are_scoped_to_the_key_tenant(redis_url: str, tmp_path: Path) -> None:
    key_a, key_b = make_key(redis_url, "a"), make_key(redis_url, "b")
    app = create_app(
        SequencerSettings(
            redis_url=SecretStr(redis_url), max_range=100, reservations_path=tmp_path / "r.json"
        )
    )
    with TestClient(app) as client:
        ra = client.post(
            "/v1/sequence", json={"count": 10}, headers={"authorization": f"Bearer {key_a}"}
        )
        rb = client.post(
            "/v1/sequence", json={"count": 1}, headers={"authorization": f"Bearer {key_b}"}
        )
        assert ra.json() == {"tenant": "a", "first": 1, "last": 10}
        assert rb.json() == {"tenant": "b", "first": 1, "last": 1}
        assert client.post("/v1/sequence", json={"count": 1}).status_code == 401
        bad = client.post(
            "/v1/sequence", json={"count": 1}, headers={"authorization": "Bearer ap_nope"}
        )
        assert bad.status_code == 401
        big = client.post(
            "/v1/sequence", json={"count": 101}, headers={"authorization": f"Bearer {key_a}"}
        )
        assert big.status_code == 413
        zero = client.post(
            "/v1/sequence", json={"count": 0}, headers={"authorization": f"Bearer {key_a}"}
        )
        assert zero.status_code == 422
