"""Every bundled real data set, replayed through the whole stack, accounted record by record."""

from __future__ import annotations

import pytest

from auditpipe_cli.datasets import DATASETS
from auditpipe_cli.demo import check
from auditpipe_cli.remote import QueryClient, create_key
from auditpipe_cli.replayrun import replay
from auditpipe_cli.stack import LocalStack
from tests.stack.conftest import datasets_dir

pytestmark = pytest.mark.stack

# Records in the source files (see each data set's PROVENANCE.md) and how many
# of them cannot be mapped: the k8s CSV ends with one truncated row.
SOURCE_RECORDS = {
    "cloudtrail-invictus": (2900, 0),
    "cloudtrail-stratus-detonations": (310, 0),
    "k8s-audit-perfspec": (16564, 1),
    "windows-security-otrf": (6138, 0),
}


@pytest.mark.parametrize("name", list(DATASETS))
def test_dataset_is_stored_exactly_once(stack: LocalStack, name: str) -> None:
    tenant = f"{name}-{id(stack) % 10_000}"
    key = create_key(stack.config.redis_url, tenant)
    path = datasets_dir() / name / DATASETS[name]
    result = replay(
        path,
        api_key=key,
        ingest_url=stack.config.url("ingest"),
        sequencer_url=stack.config.url("sequencer"),
        show_progress=False,
    )
    records, unmappable = SOURCE_RECORDS[name]
    assert result.read == records
    assert sum(result.unmappable.values()) == unmappable
    assert not result.rejected
    assert not result.failed
    assert len(result.acknowledged) == records - unmappable == len(result.keys)
    with QueryClient(stack.config.url("query"), key) as query:
        outcome = check(query, result, stack.config)
        assert (outcome.stored, outcome.duplicates, outcome.missing) == (len(result.keys), 0, 0)

        again = replay(
            path,
            api_key=key,
            ingest_url=stack.config.url("ingest"),
            sequencer_url=stack.config.url("sequencer"),
            show_progress=False,
        )
        assert again.acknowledged == result.acknowledged
        second = check(query, again, stack.config)
        assert (second.stored, second.duplicates, second.missing) == (len(result.keys), 0, 0)
        assert query.stats()["count"] == len(result.keys)
