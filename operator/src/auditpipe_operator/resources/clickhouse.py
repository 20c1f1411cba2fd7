"""ClickHouse per mode: a StatefulSet run here, a ClickHouseInstallation, or nothing (external).

The ``auditpipe`` user's password is read by ClickHouse from the environment
(``from_env``), which takes it from the credentials Secret; the ``default``
user is limited to localhost.
"""

from __future__ import annotations

from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.config import (
    CLICKHOUSE_HTTP_PORT,
    CLICKHOUSE_PASSWORD_KEY,
    CLICKHOUSE_USER,
    credentials_name,
)
from auditpipe_operator.resources.meta import (
    Manifest,
    child_name,
    content_hash,
    labels,
    manifest,
    metadata,
    selector_labels,
)
from auditpipe_operator.resources.pods import (
    container,
    empty_dir,
    http_probe,
    label_selector,
    pod_template,
    resources,
    secret_env,
)
from auditpipe_operator.resources.storage import claim_retention, claim_spec, claim_template

COMPONENT = "clickhouse"
NATIVE_PORT = 9000
ALTINITY_API_VERSION = "clickhouse.altinity.com/v1"

SERVER_XML = """\
<clickhouse>
  <listen_host>0.0.0.0</listen_host>
  <logger>
    <level>information</level>
    <console>1</console>
    <log remove="remove"/>
    <errorlog remove="remove"/>
  </logger>
</clickhouse>
"""
USERS_XML = f"""\
<clickhouse>
  <users>
    <{CLICKHOUSE_USER}>
      <password from_env="CLICKHOUSE_PASSWORD"/>
      <networks><ip>::/0</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </{CLICKHOUSE_USER}>
    <default>
      <networks replace="replace"><ip>::1</ip><ip>127.0.0.1</ip></networks>
    </default>
  </users>
</clickhouse>
"""


def clickhouse_configmap(pipeline: Pipeline) -> Manifest:
    """Server and users configuration for the operator's own ClickHouse."""
    meta = metadata(pipeline, child_name(pipeline, "clickhouse-config"), COMPONENT)
    data = {"auditpipe-server.xml": SERVER_XML, "auditpipe-users.xml": USERS_XML}
    return manifest("v1", "ConfigMap", meta, data=data)


def clickhouse_service(pipeline: Pipeline) -> Manifest:
    """The Service in front of the ClickHouse server (HTTP and native ports)."""
    ports = [
        {"name": "http", "port": CLICKHOUSE_HTTP_PORT, "targetPort": "http", "protocol": "TCP"},
        {"name": "native", "port": NATIVE_PORT, "targetPort": "native", "protocol": "TCP"},
    ]
    body = {"type": "ClusterIP", "selector": selector_labels(pipeline, COMPONENT), "ports": ports}
    meta = metadata(pipeline, child_name(pipeline, COMPONENT), COMPONENT)
    return manifest("v1", "Service", meta, spec=body)


def clickhouse_container(pipeline: Pipeline) -> Manifest:
    """The clickhouse-server container (writable root: the server writes beside its config)."""
    ch = pipeline.spec.clickhouse
    config = "/etc/clickhouse-server"
    mounts = [
        {"name": "data", "mountPath": "/var/lib/clickhouse"},
        {"name": "logs", "mountPath": "/var/log/clickhouse-server"},
        {
            "name": "config",
            "mountPath": f"{config}/config.d/auditpipe.xml",
            "subPath": "auditpipe-server.xml",
        },
        {
            "name": "config",
            "mountPath": f"{config}/users.d/auditpipe.xml",
            "subPath": "auditpipe-users.xml",
        },
    ]
    ports = [
        {"name": "http", "containerPort": CLICKHOUSE_HTTP_PORT, "protocol": "TCP"},
        {"name": "native", "containerPort": NATIVE_PORT, "protocol": "TCP"},
    ]
    password = secret_env(
        "CLICKHOUSE_PASSWORD", credentials_name(pipeline), CLICKHOUSE_PASSWORD_KEY
    )
    main = container(
        pipeline,
        "clickhouse",
        ch.image,
        ch.resources,
        command=["/usr/bin/clickhouse-server", f"--config-file={config}/config.xml"],
        env=[password],
        ports=ports,
        volumeMounts=mounts,
        readinessProbe=http_probe("/ping", period=5),
        livenessProbe={**http_probe("/ping", period=10), "initialDelaySeconds": 30},
    )
    main["securityContext"]["readOnlyRootFilesystem"] = False
    return main


def clickhouse_statefulset(pipeline: Pipeline) -> Manifest:
    """One ClickHouse server with a persistent volume."""
    ch = pipeline.spec.clickhouse
    config = {"name": "config", "configMap": {"name": child_name(pipeline, "clickhouse-config")}}
    annotations = {"auditpipe.dev/config-hash": content_hash([SERVER_XML, USERS_XML])}
    template = pod_template(
        pipeline,
        COMPONENT,
        [clickhouse_container(pipeline)],
        annotations=annotations,
        volumes=[config, empty_dir("logs")],
        terminationGracePeriodSeconds=120,
    )
    spec = {
        "serviceName": child_name(pipeline, COMPONENT),
        "replicas": 1,
        "selector": label_selector(pipeline, COMPONENT),
        "template": template,
        "volumeClaimTemplates": [claim_template(pipeline, COMPONENT, ch.storage)],
        "persistentVolumeClaimRetentionPolicy": claim_retention(pipeline),
    }
    meta = metadata(pipeline, child_name(pipeline, COMPONENT), COMPONENT)
    return manifest("apps/v1", "StatefulSet", meta, spec=spec)


def installation(pipeline: Pipeline) -> Manifest:
    """A ClickHouseInstallation for the Altinity operator (cluster ``auditpipe``)."""
    ch = pipeline.spec.clickhouse
    secret_ref = f"{pipeline.namespace}/{credentials_name(pipeline)}/{CLICKHOUSE_PASSWORD_KEY}"
    configuration: Manifest = {
        "users": {
            f"{CLICKHOUSE_USER}/k8s_secret_password": secret_ref,
            f"{CLICKHOUSE_USER}/networks/ip": ["::/0"],
            f"{CLICKHOUSE_USER}/profile": "default",
        },
        "clusters": [
            {
                "name": "auditpipe",
                "layout": {"shardsCount": ch.shards, "replicasCount": ch.replicas},
            }
        ],
    }
    if ch.zookeeper_hosts:
        nodes = [_zookeeper_node(host) for host in ch.zookeeper_hosts]
        configuration["zookeeper"] = {"nodes": nodes}
    pod = {
        "name": "clickhouse",
        "metadata": {"labels": labels(pipeline, COMPONENT)},
        "spec": {
            "containers": [
                {
                    "name": "clickhouse",
                    "image": ch.image.reference,
                    "resources": resources(ch.resources),
                }
            ]
        },
    }
    templates = {
        "podTemplates": [pod],
        "volumeClaimTemplates": [{"name": "data", "spec": claim_spec(ch.storage)}],
    }
    defaults = {"templates": {"podTemplate": "clickhouse", "dataVolumeClaimTemplate": "data"}}
    spec = {"configuration": configuration, "defaults": defaults, "templates": templates}
    meta = metadata(pipeline, pipeline.name, COMPONENT)
    return manifest(ALTINITY_API_VERSION, "ClickHouseInstallation", meta, spec=spec)


def _zookeeper_node(address: str) -> Manifest:
    host, _, port = address.partition(":")
    return {"host": host, "port": int(port) if port.isdigit() else 2181}


def clickhouse_objects(pipeline: Pipeline) -> list[Manifest]:
    """The ClickHouse objects of the pipeline's mode, in apply order."""
    mode = pipeline.spec.clickhouse.mode
    if mode == "statefulset":
        return [
            clickhouse_configmap(pipeline),
            clickhouse_service(pipeline),
            clickhouse_statefulset(pipeline),
        ]
    if mode == "altinity":
        return [installation(pipeline)]
    return []
