"""Where each kind the operator handles lives in the API (no discovery needed)."""

from __future__ import annotations

from dataclasses import dataclass

from auditpipe_operator.api.constants import API_VERSION, KIND, PLURAL


@dataclass(frozen=True)
class KindInfo:
    """REST coordinates of one kind."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def group(self) -> str:
        """API group ('' for the core group)."""
        return self.api_version.rpartition("/")[0]

    def collection(self, namespace: str | None) -> str:
        """URL path of the collection, in ``namespace`` for namespaced kinds."""
        base = f"/api/{self.api_version}" if not self.group else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


_KINDS = [
    KindInfo("v1", "ConfigMap", "configmaps"),
    KindInfo("v1", "Secret", "secrets"),
    KindInfo("v1", "Service", "services"),
    KindInfo("v1", "ServiceAccount", "serviceaccounts"),
    KindInfo("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    KindInfo("v1", "Pod", "pods"),
    KindInfo("v1", "Event", "events"),
    KindInfo("apps/v1", "Deployment", "deployments"),
    KindInfo("apps/v1", "StatefulSet", "statefulsets"),
    KindInfo("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    KindInfo("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    KindInfo("networking.k8s.io/v1", "Ingress", "ingresses"),
    KindInfo("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
    KindInfo("clickhouse.altinity.com/v1", "ClickHouseInstallation", "clickhouseinstallations"),
    KindInfo(API_VERSION, KIND, PLURAL),
]
KINDS: dict[tuple[str, str], KindInfo] = {(k.api_version, k.kind): k for k in _KINDS}


def kind_info(api_version: str, kind: str) -> KindInfo:
    """The coordinates of ``kind`` (KeyError for a kind the operator does not handle)."""
    return KINDS[(api_version, kind)]
