"""Services, Ingresses, autoscalers and disruption budgets, shared by the components."""

from __future__ import annotations

from collections.abc import Sequence

from auditpipe_operator.api.base import Autoscaling
from auditpipe_operator.api.components import IngressSpec, ServiceSpec
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.meta import (
    Manifest,
    child_name,
    manifest,
    metadata,
    selector_labels,
)
from auditpipe_operator.resources.pods import label_selector

# (path, Service name, Service port) of one Ingress rule.
Route = tuple[str, str, int]


def service(
    pipeline: Pipeline, component: str, spec: ServiceSpec, *, target_port: str = "http"
) -> Manifest:
    """A Service for ``component``'s pods."""
    meta = metadata(pipeline, child_name(pipeline, component), component)
    port = {"name": "http", "port": spec.port, "targetPort": target_port, "protocol": "TCP"}
    body = {"type": spec.type, "selector": selector_labels(pipeline, component), "ports": [port]}
    return manifest("v1", "Service", meta, spec=body)


def ingress_annotations(spec: IngressSpec) -> dict[str, str]:
    """User annotations plus cert-manager's issuer annotation when an issuer is named."""
    annotations = dict(spec.annotations)
    issuer = spec.tls.issuer
    if issuer is not None:
        key = "cluster-issuer" if issuer.kind == "ClusterIssuer" else "issuer"
        annotations[f"cert-manager.io/{key}"] = issuer.name
    return annotations


def ingress(
    pipeline: Pipeline, component: str, spec: IngressSpec, routes: Sequence[Route]
) -> Manifest:
    """An Ingress with TLS for ``spec.host``, routing each path to a Service."""
    name = child_name(pipeline, component)
    meta = metadata(pipeline, name, component, annotations=ingress_annotations(spec))
    paths = [
        {
            "path": path,
            "pathType": "Prefix",
            "backend": {"service": {"name": svc, "port": {"number": port}}},
        }
        for path, svc, port in routes
    ]
    secret = spec.tls.secret_name or f"{name}-tls"
    body: Manifest = {
        "tls": [{"hosts": [spec.host], "secretName": secret}],
        "rules": [{"host": spec.host, "http": {"paths": paths}}],
    }
    if spec.class_name:
        body["ingressClassName"] = spec.class_name
    return manifest("networking.k8s.io/v1", "Ingress", meta, spec=body)


def autoscaler(pipeline: Pipeline, component: str, spec: Autoscaling) -> Manifest:
    """A CPU-based HorizontalPodAutoscaler for ``component``'s Deployment."""
    name = child_name(pipeline, component)
    target = {"type": "Utilization", "averageUtilization": spec.target_cpu_utilization_percentage}
    body = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "minReplicas": spec.min_replicas,
        "maxReplicas": spec.max_replicas,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}],
    }
    meta = metadata(pipeline, name, component)
    return manifest("autoscaling/v2", "HorizontalPodAutoscaler", meta, spec=body)


def disruption_budget(pipeline: Pipeline, component: str, max_unavailable: int) -> Manifest:
    """A PodDisruptionBudget that keeps all but ``max_unavailable`` pods through drains."""
    meta = metadata(pipeline, child_name(pipeline, component), component)
    body = {"maxUnavailable": max_unavailable, "selector": label_selector(pipeline, component)}
    return manifest("policy/v1", "PodDisruptionBudget", meta, spec=body)


def deployment(
    pipeline: Pipeline,
    component: str,
    template: Manifest,
    *,
    replicas: int | None,
    strategy: Manifest | None = None,
) -> Manifest:
    """A Deployment; ``replicas=None`` leaves the count to an autoscaler."""
    body: Manifest = {
        "selector": label_selector(pipeline, component),
        "template": template,
        "revisionHistoryLimit": 5,
    }
    if replicas is not None:
        body["replicas"] = replicas
    if strategy is not None:
        body["strategy"] = strategy
    meta = metadata(pipeline, child_name(pipeline, component), component)
    return manifest("apps/v1", "Deployment", meta, spec=body)
