"""Redis StatefulSet and config, ClickHouse per mode, sequencer volume, deletion policy."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from auditpipe_operator.resources import desired_state
from auditpipe_operator.resources.quantity import quantity_bytes
from auditpipe_operator.resources.redis import redis_conf
from auditpipe_operator.testing import env_of, find, make_pipeline


def _objects(spec: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return desired_state(make_pipeline(spec))


@pytest.mark.parametrize("policy", ["everysec", "always"])
def test_redis_conf_has_aof_with_the_fsync_policy(policy: str) -> None:
    conf = redis_conf(make_pipeline({"redis": {"appendfsync": policy}}))
    assert "appendonly yes\n" in conf
    assert f"appendfsync {policy}\n" in conf
    assert "maxmemory-policy noeviction\n" in conf
    assert conf.endswith("include /run/redis/auth.conf\n")


def test_redis_maxmemory_is_below_the_memory_limit() -> None:
    conf = redis_conf(make_pipeline({"redis": {"resources": {"limits": {"memory": "4Gi"}}}}))
    assert f"maxmemory {3 * 2**30}\n" in conf
    unlimited = redis_conf(make_pipeline({"redis": {"resources": {"limits": {}}}}))
    assert "maxmemory " not in unlimited


def test_redis_statefulset_volume_services_and_config() -> None:
    objects = _objects({"redis": {"replicas": 3, "storage": {"size": "20Gi"}}})
    sts = find(objects, "StatefulSet", "audit-redis")["spec"]
    assert sts["replicas"] == 3
    assert sts["serviceName"] == "audit-redis-headless"
    claim = sts["volumeClaimTemplates"][0]["spec"]
    assert claim["resources"]["requests"]["storage"] == "20Gi"
    assert "storageClassName" not in claim
    assert sts["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    pod = sts["template"]["spec"]
    assert {"name": "run", "emptyDir": {"medium": "Memory"}} in pod["volumes"]
    variables = env_of(pod["containers"][0])
    assert variables["PEER_PREFIX"] + "1" + variables["PEER_SUFFIX"] == (
        "audit-redis-1.audit-redis-headless.ops.svc"
    )
    assert [c["name"] for c in pod["containers"]] == ["redis", "role-agent"]
    config = find(objects, "ConfigMap", "audit-redis-config")
    assert "appendonly yes" in config["data"]["redis.conf"]
    assert "min-replicas-to-write" not in config["data"]["redis.conf"]
    assert config["data"]["primary"] == "0"
    headless = find(objects, "Service", "audit-redis-headless")["spec"]
    assert headless["clusterIP"] == "None"
    client = find(objects, "Service", "audit-redis")["spec"]
    assert client["selector"]["statefulset.kubernetes.io/pod-name"] == "audit-redis-0"


def test_a_promoted_primary_moves_the_service_and_the_config_but_rolls_no_pod() -> None:
    spec = {"redis": {"replicas": 2}, "failover": {"redisPrimaryLoss": "PromoteReplica"}}
    before = _objects(spec)
    after = desired_state(replace(make_pipeline(spec), redis_primary=2))
    assert find(after, "ConfigMap", "audit-redis-config")["data"]["primary"] == "2"
    client = find(after, "Service", "audit-redis")["spec"]["selector"]
    assert client["statefulset.kubernetes.io/pod-name"] == "audit-redis-2"
    sts_before = find(before, "StatefulSet", "audit-redis")["spec"]
    sts_after = find(after, "StatefulSet", "audit-redis")["spec"]
    assert sts_after["replicas"] == 3  # never scale the primary away
    assert sts_after["template"] == sts_before["template"]
    conf = find(after, "ConfigMap", "audit-redis-config")["data"]["redis.conf"]
    assert "min-replicas-to-write 1\nmin-replicas-max-lag 10\n" in conf


def test_redis_config_change_rolls_redis() -> None:
    def config_hash(policy: str) -> str:
        sts = find(_objects({"redis": {"appendfsync": policy}}), "StatefulSet", "audit-redis")
        return str(sts["spec"]["template"]["metadata"]["annotations"])

    assert config_hash("everysec") != config_hash("always")


def test_storage_follows_the_deletion_policy() -> None:
    retain = _objects()
    claim = find(retain, "PersistentVolumeClaim", "audit-sequencer-data")
    assert "ownerReferences" not in claim["metadata"]
    delete = _objects({"deletion": {"persistentVolumeClaims": "Delete"}})
    claim = find(delete, "PersistentVolumeClaim", "audit-sequencer-data")
    assert claim["metadata"]["ownerReferences"][0]["kind"] == "AuditPipeline"
    for name in ("audit-redis", "audit-clickhouse"):
        sts = find(delete, "StatefulSet", name)["spec"]
        assert sts["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"


def test_sequencer_is_a_single_writer_on_its_volume() -> None:
    objects = _objects({"sequencer": {"storage": {"size": "2Gi", "storageClassName": "fast"}}})
    deployment = find(objects, "Deployment", "audit-sequencer")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "audit-sequencer-data"}} in (
        pod["volumes"]
    )
    variables = env_of(pod["containers"][0])
    assert variables["AUDITPIPE_RESERVATIONS_PATH"].startswith("/var/lib/auditpipe/sequencer/")
    assert variables["AUDITPIPE_FENCING"] == "true"
    assert variables["AUDITPIPE_PORT"] == "8701"
    claim = find(objects, "PersistentVolumeClaim", "audit-sequencer-data")["spec"]
    assert claim["storageClassName"] == "fast"
    assert claim["accessModes"] == ["ReadWriteOnce"]
    assert find(objects, "Service", "audit-sequencer")["spec"]["ports"][0]["port"] == 8701


def test_clickhouse_statefulset_mode() -> None:
    objects = _objects({"clickhouse": {"storage": {"size": "100Gi"}}})
    sts = find(objects, "StatefulSet", "audit-clickhouse")["spec"]
    assert sts["replicas"] == 1
    main = sts["template"]["spec"]["containers"][0]
    assert main["image"] == "docker.io/clickhouse/clickhouse-server:24.8"
    assert main["readinessProbe"]["httpGet"]["path"] == "/ping"
    assert env_of(main)["CLICKHOUSE_PASSWORD"]["secretKeyRef"]["key"] == "clickhouse-password"
    assert sts["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "100Gi"
    users = find(objects, "ConfigMap", "audit-clickhouse-config")["data"]["auditpipe-users.xml"]
    assert '<password from_env="CLICKHOUSE_PASSWORD"/>' in users
    ports = find(objects, "Service", "audit-clickhouse")["spec"]["ports"]
    assert [p["port"] for p in ports] == [8123, 9000]


def test_clickhouse_altinity_mode_builds_an_installation() -> None:
    spec = {"mode": "altinity", "shards": 2, "replicas": 2, "zookeeperHosts": ["keeper:9181"]}
    objects = _objects({"clickhouse": spec})
    assert not [o for o in objects if o["metadata"]["name"] == "audit-clickhouse"]
    chi = find(objects, "ClickHouseInstallation", "audit")
    assert chi["apiVersion"] == "clickhouse.altinity.com/v1"
    configuration = chi["spec"]["configuration"]
    assert configuration["clusters"][0]["layout"] == {"shardsCount": 2, "replicasCount": 2}
    assert configuration["zookeeper"] == {"nodes": [{"host": "keeper", "port": 9181}]}
    secret_ref = configuration["users"]["auditpipe/k8s_secret_password"]
    assert secret_ref == "ops/audit-credentials/clickhouse-password"


def test_clickhouse_external_mode_creates_no_server() -> None:
    spec = {"mode": "external", "external": {"host": "ch.example.com", "credentialsSecret": "c"}}
    objects = _objects({"clickhouse": spec})
    assert not [o for o in objects if "clickhouse" in o["metadata"]["name"]]
    assert not [o for o in objects if o["kind"] == "ClickHouseInstallation"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2Gi", 2 * 2**30), ("512M", 512 * 10**6), (1024, 1024), ("1.5Gi", 3 * 2**29), ("x", None)],
)
def test_quantity_bytes(value: int | str, expected: int | None) -> None:
    assert quantity_bytes(value) == expected
