"""Ingest: Deployment, bootstrap-key registration, Service, Ingress with TLS, HPA, PDB."""

from __future__ import annotations

from typing import Any

from auditpipe_operator.resources import desired_state
from auditpipe_operator.testing import containers, env_of, find, make_pipeline


def _objects(spec: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return desired_state(make_pipeline(spec))


def test_deployment_runs_ingest_with_probes_and_settings() -> None:
    deployment = find(_objects({"ingest": {"replicas": 3}}), "Deployment", "audit-ingest")
    assert deployment["spec"]["replicas"] == 3
    main = deployment["spec"]["template"]["spec"]["containers"][0]
    assert main["command"] == ["python", "-m", "auditpipe_ingest"]
    assert main["image"] == "ghcr.io/auditpipe/ingest:0.1.0"
    assert main["ports"] == [{"name": "http", "containerPort": 8700, "protocol": "TCP"}]
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert main["envFrom"] == [{"configMapRef": {"name": "audit-settings"}}]
    variables = env_of(main)
    assert variables["AUDITPIPE_PORT"] == "8700"
    assert variables["AUDITPIPE_REDIS_URL"] == "redis://:$(REDIS_PASSWORD)@audit-redis:6379/0"
    assert variables["AUDITPIPE_MIN_REPLICA_ACKS"] == "0"
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert "auditpipe.dev/settings-hash" in annotations


def test_ingest_waits_for_the_replicas_the_failover_policy_asks_for() -> None:
    spec = {"redis": {"replicas": 3}, "failover": {"redisReplicaAcks": 2}}
    main = find(_objects(spec), "Deployment", "audit-ingest")["spec"]["template"]["spec"]
    assert env_of(main["containers"][0])["AUDITPIPE_MIN_REPLICA_ACKS"] == "2"


def test_settings_change_rolls_the_pods() -> None:
    def template_hash(spec: dict[str, Any]) -> str:
        deployment = find(_objects(spec), "Deployment", "audit-ingest")
        return str(deployment["spec"]["template"]["metadata"]["annotations"])

    assert template_hash({}) != template_hash({"logging": {"level": "debug"}})
    assert template_hash({}) == template_hash({"ingest": {"replicas": 5}})


def test_bootstrap_key_is_registered_from_the_secret() -> None:
    deployment = find(_objects({"bootstrapTenant": "acme"}), "Deployment", "audit-ingest")
    init = containers(deployment)[0]
    assert init["name"] == "register-key"
    assert init["image"] == "docker.io/library/redis:7.4"
    variables = env_of(init)
    assert variables["BOOTSTRAP_API_KEY"] == {
        "secretKeyRef": {"name": "audit-credentials", "key": "api-key"}
    }
    assert variables["BOOTSTRAP_TENANT"] == "acme"
    assert variables["KEY_PREFIX"] == "auditpipe"
    assert "HSETNX" in init["command"][-1]


def test_service_type_and_port() -> None:
    service = find(
        _objects({"ingest": {"service": {"type": "LoadBalancer", "port": 443}}}),
        "Service",
        "audit-ingest",
    )
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["ports"][0]["port"] == 443
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "ingest"


def test_ingress_with_cert_manager_issuer_routes_sequencer_and_ingest() -> None:
    spec = {
        "ingest": {
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "host": "audit.example.com",
                "tls": {"issuer": {"name": "letsencrypt"}},
                "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "16m"},
            }
        }
    }
    ingress = find(_objects(spec), "Ingress", "audit-ingest")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "16m"
    body = ingress["spec"]
    assert body["ingressClassName"] == "nginx"
    assert body["tls"] == [{"hosts": ["audit.example.com"], "secretName": "audit-ingest-tls"}]
    paths = body["rules"][0]["http"]["paths"]
    routes = [(p["path"], p["backend"]["service"]["name"]) for p in paths]
    assert routes == [("/v1/sequence", "audit-sequencer"), ("/", "audit-ingest")]


def test_ingress_with_existing_secret_and_namespaced_issuer() -> None:
    tls = {"secretName": "mine", "issuer": {"kind": "Issuer", "name": "local"}}
    spec = {"ingest": {"ingress": {"enabled": True, "host": "a.example.com", "tls": tls}}}
    ingress = find(_objects(spec), "Ingress", "audit-ingest")
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/issuer": "local"}
    assert ingress["spec"]["tls"][0]["secretName"] == "mine"
    assert "ingressClassName" not in ingress["spec"]


def test_autoscaling_adds_an_hpa_and_leaves_replicas_to_it() -> None:
    autoscaling = {"enabled": True, "minReplicas": 3, "maxReplicas": 9}
    autoscaling["targetCPUUtilizationPercentage"] = 60
    objects = _objects({"ingest": {"autoscaling": autoscaling}})
    assert "replicas" not in find(objects, "Deployment", "audit-ingest")["spec"]
    hpa = find(objects, "HorizontalPodAutoscaler", "audit-ingest")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "audit-ingest",
    }
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 9)
    target = hpa["metrics"][0]["resource"]["target"]
    assert target == {"type": "Utilization", "averageUtilization": 60}


def test_disruption_budget_keeps_ingest_available() -> None:
    pdb = find(_objects({"ingest": {"maxUnavailable": 2}}), "PodDisruptionBudget", "audit-ingest")
    assert pdb["spec"]["maxUnavailable"] == 2
    labels = pdb["spec"]["selector"]["matchLabels"]
    assert labels["app.kubernetes.io/component"] == "ingest"


def test_rolling_update_never_drops_below_the_replica_count() -> None:
    deployment = find(_objects(), "Deployment", "audit-ingest")
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
