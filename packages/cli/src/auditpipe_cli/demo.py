"""``auditpipe demo``: replay the bundled real audit logs and prove nothing was lost or doubled."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from auditpipe_cli.datasets import DATASETS
from auditpipe_cli.remote import QueryClient, create_key, wait_drained
from auditpipe_cli.replayrun import ReplayResult, replay
from auditpipe_cli.stack import LocalStack, StackConfig


@dataclass
class Outcome:
    """What the store holds for one replayed data set."""

    result: ReplayResult
    stored: int
    duplicates: int
    missing: int

    @property
    def ok(self) -> bool:
        """Every acknowledged event stored exactly once, nothing failed."""
        return not (self.duplicates or self.missing or self.result.failed)


def stored_keys(query: QueryClient) -> list[str]:
    """Every idempotency key stored for the query client's tenant (one per row)."""
    return [json.loads(line)["idempotency_key"] for line in query.export_lines({})]


def check(query: QueryClient, result: ReplayResult, config: StackConfig) -> Outcome:
    """Compare the store with what the SDK saw acknowledged, once the streams are drained."""
    if not wait_drained(config.redis_url, config.shards):
        raise RuntimeError("the workers did not drain the event streams in time")
    keys = stored_keys(query)
    unique = set(keys)
    return Outcome(
        result=result,
        stored=len(unique & result.keys),
        duplicates=len(keys) - len(unique),
        missing=len(result.acknowledged - unique),
    )


def print_table(outcomes: list[Outcome]) -> None:
    """Per data set: read, accepted, stored, rejected, unmappable, duplicates, missing."""
    head = (
        f"{'data set':<32}{'read':>8}{'accepted':>10}{'stored':>8}{'rejected':>10}"
        f"{'unmappable':>12}{'dup':>5}{'missing':>9}"
    )
    print(head)
    print("-" * len(head))
    for o in outcomes:
        r = o.result
        print(
            f"{r.name:<32}{r.read:>8}{len(r.acknowledged):>10}{o.stored:>8}"
            f"{sum(r.rejected.values()):>10}{sum(r.unmappable.values()):>12}"
            f"{o.duplicates:>5}{o.missing:>9}"
        )
    for o in outcomes:
        r = o.result
        for label, counter in (
            ("rejected", r.rejected),
            ("unmappable", r.unmappable),
            ("failed", r.failed),
        ):
            for reason, n in counter.most_common():
                print(f"  {r.name}: {n} {label}: {reason}")


def print_sample(query: QueryClient, tenant: str, params: dict[str, str]) -> None:
    """A sample query, printed one event per line."""
    page = query.page({**params, "limit": 5})
    shown = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in params.items())
    print(f"\nauditpipe query {shown}  (tenant {tenant}): first {len(page['events'])} in seq order")
    for ev in page["events"]:
        print(
            f"  seq={ev['seq']:<6} {ev['occurred_at']}  {ev['actor']['id'][:40]:<40} "
            f"{ev['action'][:36]:<36} {ev['outcome']}"
        )


SAMPLES = (
    ("cloudtrail-invictus", {"outcome": "denied"}),
    ("k8s-audit-perfspec", {"action": "delete"}),
)


def run_demo(datasets: Path, config: StackConfig, progress: bool = True) -> bool:
    """Start the stack, replay every data set, check the store; True if all is well."""
    missing = [d for d in DATASETS if not (datasets / d / DATASETS[d]).exists()]
    if missing:
        raise FileNotFoundError(f"data sets not found under {datasets}: {', '.join(missing)}")
    outcomes, keys = [], {}
    with LocalStack(config) as stack:
        print(
            f"stack up: ingest {config.url('ingest')}, query {config.url('query')}, "
            f"data in {stack.data_dir}"
        )
        for tenant, data in DATASETS.items():
            keys[tenant] = create_key(config.redis_url, tenant, "demo")
            result = replay(
                datasets / tenant / data,
                api_key=keys[tenant],
                ingest_url=config.url("ingest"),
                sequencer_url=config.url("sequencer"),
                name=tenant,
                show_progress=progress,
            )
            with QueryClient(config.url("query"), keys[tenant]) as query:
                outcomes.append(check(query, result, config))
        print()
        print_table(outcomes)
        for tenant, params in SAMPLES:
            with QueryClient(config.url("query"), keys[tenant]) as query:
                print_sample(query, tenant, params)
    ok = all(o.ok for o in outcomes)
    print("\nRESULT:", "every accepted event is stored exactly once" if ok else "FAILED")
    return ok
