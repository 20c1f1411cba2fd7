"""The tamper-evident log's keys: the signing Secret, the public keys, and what each pod gets.

Worker and ingest mount the signing Secret read-only, each only the keys it
signs with; the query API reads the public keys from a ConfigMap; the sequencer
gets neither. Private keys appear in exactly one manifest, the Secret made by
:func:`generate_keys`, which the handlers create once and never log or read back;
every other builder names the Secret and its keys only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditpipe_common.tlog.keys import private_key_pem, public_key_text
from auditpipe_operator.api.constants import ANNOTATION_LOG_KEYS, ANNOTATION_SIGNING_KEYS
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.api.tamper import INGEST_KEY, LOG_KEY
from auditpipe_operator.resources.meta import (
    Manifest,
    child_name,
    deleted_with_pipeline,
    manifest,
    metadata,
)
from auditpipe_operator.resources.pods import configmap_env, env

COMPONENT = "signing"
SIGNING_DIR = "/var/run/auditpipe/signing"
VOLUME = "signing"
KEY_FILE_MODE = 0o400
PUBLIC_KEYS = "publicKeys"  # ConfigMap key: JSON list of the trusted checkpoint keys
RECEIPT_PUBLIC_KEY = "receiptPublicKey"  # ConfigMap key: the public half of the receipt key
PENDING = "pending"
ISSUED = "issued"

NewKey = Callable[[], Ed25519PrivateKey]
NEW_KEY: NewKey = Ed25519PrivateKey.generate


def generated_secret_name(pipeline: Pipeline) -> str:
    """The Secret the operator generates when the spec names none: ``<pipeline>-signing``."""
    return child_name(pipeline, "signing")


def generated_keys_name(pipeline: Pipeline) -> str:
    """The ConfigMap with the generated keys' public halves: ``<pipeline>-log-keys``."""
    return child_name(pipeline, "log-keys")


def generates_keys(pipeline: Pipeline) -> bool:
    """Whether the operator makes the keys (no ``signingKeySecret`` in the spec)."""
    return pipeline.spec.tamper_evidence.signing_key_secret is None


def signing_secret_name(pipeline: Pipeline) -> str:
    """The Secret worker and ingest mount: the spec's, else the generated one."""
    return pipeline.spec.tamper_evidence.signing_key_secret or generated_secret_name(pipeline)


def public_keys_name(pipeline: Pipeline) -> str:
    """The ConfigMap whose ``publicKeys`` the query API trusts: the spec's, else generated."""
    named = pipeline.spec.tamper_evidence.public_keys_config_map
    return named or generated_keys_name(pipeline)


def key_path(key: str) -> str:
    """Where a key of the Secret is in a pod."""
    return f"{SIGNING_DIR}/{key}"


def signing_volume(pipeline: Pipeline, keys: Sequence[str]) -> Manifest:
    """The signing Secret as a volume holding only ``keys``, each file mode 0400."""
    items = [{"key": key, "path": key} for key in keys]
    secret = {
        "secretName": signing_secret_name(pipeline),
        "items": items,
        "defaultMode": KEY_FILE_MODE,
    }
    return {"name": VOLUME, "secret": secret}


def signing_mount() -> Manifest:
    """The read-only mount of :func:`signing_volume`."""
    return {"name": VOLUME, "mountPath": SIGNING_DIR, "readOnly": True}


def keys_annotations(pipeline: Pipeline) -> dict[str, str]:
    """Pod template annotations of worker, ingest and query: new trusted keys roll them."""
    digest = pipeline.log_keys_digest
    return {ANNOTATION_LOG_KEYS: digest} if digest else {}


def deployment_env(pipeline: Pipeline) -> Manifest:
    """``AUDITPIPE_LOG_DEPLOYMENT``: the ``<deployment>`` of every log origin."""
    return env("AUDITPIPE_LOG_DEPLOYMENT", pipeline.log_deployment)


def worker_log_env(pipeline: Pipeline) -> list[Manifest]:
    """The worker's key files and checkpoint cadence."""
    tamper = pipeline.spec.tamper_evidence
    files = json.dumps([key_path(key) for key in tamper.log_keys], separators=(",", ":"))
    return [
        deployment_env(pipeline),
        env("AUDITPIPE_LOG_KEY_FILES", files),
        env("AUDITPIPE_CHECKPOINT_EVENTS", tamper.checkpoint_events),
        env("AUDITPIPE_CHECKPOINT_INTERVAL_S", tamper.checkpoint_interval_seconds),
    ]


def ingest_log_env(pipeline: Pipeline) -> list[Manifest]:
    """Ingest's receipt key file."""
    key = pipeline.spec.tamper_evidence.ingest_key
    return [deployment_env(pipeline), env("AUDITPIPE_RECEIPT_KEY_FILE", key_path(key))]


def query_log_env(pipeline: Pipeline) -> list[Manifest]:
    """The public keys the query API trusts, read from the ConfigMap at pod start."""
    keys = configmap_env("AUDITPIPE_LOG_PUBLIC_KEYS", public_keys_name(pipeline), PUBLIC_KEYS)
    return [deployment_env(pipeline), keys]


@dataclass(frozen=True)
class GeneratedKeys:
    """New keys: the Secret (private, create once) and the ConfigMap (public, ``pending``)."""

    secret: Manifest
    public_keys: Manifest


def generate_keys(
    pipeline: Pipeline, trusted: Sequence[str] = (), new_key: NewKey = NEW_KEY
) -> GeneratedKeys:
    """Two new Ed25519 keys (checkpoints, receipts) as the Secret and the public-keys ConfigMap.

    ``publicKeys`` lists ``trusted`` (keys still trusted from before), then the new
    checkpoint key. Both objects follow the deletion policy of the volumes whose
    checkpoints they sign: owned by the pipeline under ``Delete``, kept under ``Retain``.
    """
    log_key, ingest_key = new_key(), new_key()
    owned = deleted_with_pipeline(pipeline)
    secret_meta = metadata(pipeline, generated_secret_name(pipeline), COMPONENT, owned=owned)
    private = {
        LOG_KEY: private_key_pem(log_key).decode(),
        INGEST_KEY: private_key_pem(ingest_key).decode(),
    }
    secret = manifest("v1", "Secret", secret_meta, type="Opaque", stringData=private)
    keys_meta = metadata(
        pipeline,
        generated_keys_name(pipeline),
        COMPONENT,
        annotations={ANNOTATION_SIGNING_KEYS: PENDING},
        owned=owned,
    )
    data = {
        PUBLIC_KEYS: json.dumps([*trusted, public_key_text(log_key)]),
        RECEIPT_PUBLIC_KEY: public_key_text(ingest_key),
    }
    return GeneratedKeys(secret, manifest("v1", "ConfigMap", keys_meta, data=data))
