"""Sequencer: one writer, Recreate strategy, reservations on a ReadWriteOnce volume."""

from __future__ import annotations

from auditpipe_operator.api.components import ServiceSpec
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.apps import SEQUENCER_PORT, app_container, app_template
from auditpipe_operator.resources.exposure import deployment, service
from auditpipe_operator.resources.meta import Manifest, child_name
from auditpipe_operator.resources.pods import env
from auditpipe_operator.resources.storage import claim

COMPONENT = "sequencer"
DATA_DIR = "/var/lib/auditpipe/sequencer"


def claim_name(pipeline: Pipeline) -> str:
    """Name of the reservations volume claim."""
    return child_name(pipeline, "sequencer-data")


def sequencer_deployment(pipeline: Pipeline) -> Manifest:
    """The sequencer Deployment: the old pod is gone before a new one starts."""
    spec = pipeline.spec
    variables = [
        env("AUDITPIPE_RESERVATIONS_PATH", f"{DATA_DIR}/reservations.json"),
        env("AUDITPIPE_RESERVE_BLOCK", spec.sequencer.reserve_block),
        # A new sequencer fences the one it replaces (failover.sequencerLoss).
        env("AUDITPIPE_FENCING", "true"),
    ]
    mounts = [{"name": "data", "mountPath": DATA_DIR}]
    main = app_container(
        pipeline,
        COMPONENT,
        spec.images.sequencer,
        spec.sequencer.resources,
        port=SEQUENCER_PORT,
        extra_env=variables,
        mounts=mounts,
    )
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name(pipeline)}}]
    template = app_template(pipeline, COMPONENT, main, volumes=volumes)
    return deployment(
        pipeline,
        COMPONENT,
        template,
        replicas=spec.sequencer.replicas,
        strategy={"type": "Recreate"},
    )


def sequencer_objects(pipeline: Pipeline) -> list[Manifest]:
    """Every object of the sequencer, in apply order."""
    storage = pipeline.spec.sequencer.storage
    return [
        claim(pipeline, claim_name(pipeline), COMPONENT, storage),
        service(pipeline, COMPONENT, ServiceSpec(port=SEQUENCER_PORT)),
        sequencer_deployment(pipeline),
    ]
