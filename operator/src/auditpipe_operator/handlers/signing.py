"""The log's signing keys: generated once, never read back, never replaced behind anyone's back.

Without ``tamperEvidence.signingKeySecret`` the operator makes the keys itself:
first the ConfigMap ``<pipeline>-log-keys`` with the public halves, annotated
``auditpipe.dev/signing-keys: pending``; then the Secret ``<pipeline>-signing``
with the private keys (created, never read or changed); then it marks the
ConfigMap ``issued``. An attempt cut short before the Secret existed is redone
with new keys, replacing the candidate (the last entry of ``publicKeys``):
nothing was ever signed with it.

The operator may not read Secrets; it learns whether one exists from a dry-run
create. Once the keys are issued, a missing Secret is **not** regenerated: the
stored checkpoints were signed with its key, and silently starting a new one would
leave nobody deciding about the old one. The pipeline is Degraded
(``SigningKeyMissing``) until the Secret is restored from a backup, or until
someone sets the annotation to ``renew``: then new keys are generated and the new
public key is added to ``publicKeys``, after the old ones, which stay trusted so
that the old checkpoints still verify.

A Secret someone else creates in the instant between the dry run and the
create leaves the ConfigMap ``conflict`` (SigningKeyConflict) until a person decides.

With ``signingKeySecret`` the keys are the user's: the operator only checks that
the Secret and the ConfigMap exist and that the public keys parse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import kopf

from auditpipe_common.tlog.errors import FormatError
from auditpipe_common.tlog.keys import parse_public_key
from auditpipe_operator.api.constants import ANNOTATION_SIGNING_KEYS
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.handlers.status import Problem
from auditpipe_operator.kube.client import Kube, Manifest, ObjectRef
from auditpipe_operator.kube.errors import KubeError
from auditpipe_operator.resources.signing import (
    ISSUED,
    NEW_KEY,
    PENDING,
    PUBLIC_KEYS,
    RECEIPT_PUBLIC_KEY,
    NewKey,
    generate_keys,
    generated_keys_name,
    generated_secret_name,
    generates_keys,
    public_keys_name,
    signing_secret_name,
)

RENEW = "renew"  # set by a person on the ConfigMap: make new keys, keep trusting the old ones
CONFLICT = "conflict"  # someone else made the Secret while new keys were being issued


async def secret_exists(kube: Kube, namespace: str, name: str) -> bool:
    """Whether a Secret exists, asked with a dry-run create: nothing of it is read."""
    meta = {"name": name, "namespace": namespace}
    probe = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
    return not await kube.create(probe, dry_run=True)


def trusted_keys(record: Mapping[str, Any]) -> list[str] | None:
    """The ConfigMap's ``publicKeys`` (a JSON list of public keys), or None if unusable."""
    try:
        keys = json.loads((record.get("data") or {}).get(PUBLIC_KEYS, ""))
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            return None
        for key in keys:
            parse_public_key(key)
    except (ValueError, FormatError):
        return None
    return keys


def _invalid(name: str) -> Problem:
    return "LogPublicKeysInvalid", (
        f"ConfigMap {name} has no usable {PUBLIC_KEYS}: it must be a non-empty JSON list of "
        "Ed25519 public keys (base64); the query API cannot verify the log without it"
    )


async def ensure_signing_keys(
    kube: Kube, pipeline: Pipeline, logger: kopf.Logger, new_key: NewKey = NEW_KEY
) -> Problem | None:
    """Generate the keys if needed, or check the user's; a problem for the Degraded condition."""
    if not generates_keys(pipeline):
        return await _check_own_keys(kube, pipeline)
    ref = ObjectRef("v1", "ConfigMap", pipeline.namespace, generated_keys_name(pipeline))
    record = await kube.get(ref)
    present = await secret_exists(kube, pipeline.namespace, generated_secret_name(pipeline))
    if record is None:
        if present:
            return _public_keys_missing(pipeline)
        return await _issue(kube, pipeline, logger, None, [], new_key)
    trusted = trusted_keys(record)
    if trusted is None:
        return _invalid(ref.name)
    state = (record["metadata"].get("annotations") or {}).get(ANNOTATION_SIGNING_KEYS)
    if state == CONFLICT:
        return _conflict(pipeline)
    if state not in (PENDING, RENEW):  # issued (or recreated by hand without the mark)
        return None if present else _signing_key_missing(pipeline)
    if present and state == RENEW:
        return _renewal_blocked(pipeline)
    if present:  # the Secret was made; only the mark was lost
        await _mark(kube, ref, ISSUED)
        return None
    # Pending: the last key is the candidate of an attempt cut short, never used.
    kept = trusted[:-1] if state == PENDING else trusted
    return await _issue(kube, pipeline, logger, record, kept, new_key)


async def _issue(
    kube: Kube,
    pipeline: Pipeline,
    logger: kopf.Logger,
    record: Manifest | None,
    kept: list[str],
    new_key: NewKey,
) -> Problem | None:
    """Record the new public keys (pending), create the Secret, then mark them issued."""
    keys = generate_keys(pipeline, kept, new_key)
    public = keys.public_keys
    ref = ObjectRef.of(public)
    if record is None:
        if not await kube.create(public):
            raise KubeError(409, "Conflict", f"ConfigMap {ref.name} appeared meanwhile")
    else:
        # Only over the record as read: a concurrent pass (the resync timer runs beside the
        # change handlers) that got there first makes this patch fail with a conflict.
        meta = {**public["metadata"], "resourceVersion": record["metadata"].get("resourceVersion")}
        await kube.patch(ref, {"metadata": meta, "data": public["data"]})
    try:
        created = await kube.create(keys.secret)
    except KubeError as exc:
        raise KubeError(exc.status, exc.reason, "creating the signing Secret failed") from None
    if not created:
        # Someone else made the Secret since the dry run: its keys are not the ones just
        # recorded. Withdraw them, keeping what was trusted before, and ask for a person.
        if record is None or not kept:
            await kube.delete(ref)
            return _public_keys_missing(pipeline)
        receipt = (record.get("data") or {}).get(RECEIPT_PUBLIC_KEY)
        restored = {PUBLIC_KEYS: json.dumps(kept), RECEIPT_PUBLIC_KEY: receipt}
        await kube.patch(ref, {"data": restored})
        await _mark(kube, ref, CONFLICT)
        return _conflict(pipeline)
    await _mark(kube, ref, ISSUED)
    logger.info(
        "generated log signing keys: Secret %s, public keys in ConfigMap %s (%d trusted)",
        keys.secret["metadata"]["name"],
        ref.name,
        len(kept) + 1,
    )
    return None


async def _mark(kube: Kube, ref: ObjectRef, state: str) -> None:
    await kube.patch(ref, {"metadata": {"annotations": {ANNOTATION_SIGNING_KEYS: state}}})


async def _check_own_keys(kube: Kube, pipeline: Pipeline) -> Problem | None:
    """The user's Secret and ConfigMap exist, and the public keys parse."""
    secret = signing_secret_name(pipeline)
    if not await secret_exists(kube, pipeline.namespace, secret):
        return "SigningKeySecretNotFound", (
            f"Secret {secret} (tamperEvidence.signingKeySecret) does not exist: worker and "
            "ingest pods cannot start without it"
        )
    name = public_keys_name(pipeline)
    record = await kube.get(ObjectRef("v1", "ConfigMap", pipeline.namespace, name))
    if record is None:
        return "PublicKeysConfigMapNotFound", (
            f"ConfigMap {name} (tamperEvidence.publicKeysConfigMap) does not exist: query pods "
            "cannot start without it"
        )
    return None if trusted_keys(record) is not None else _invalid(name)


def _signing_key_missing(pipeline: Pipeline) -> Problem:
    secret, keys = generated_secret_name(pipeline), generated_keys_name(pipeline)
    return "SigningKeyMissing", (
        f"Secret {secret} is gone, but ConfigMap {keys} still trusts its keys, which signed "
        "the stored checkpoints; the operator will not replace them silently. Restore the "
        f"Secret from a backup, or annotate ConfigMap {keys} with "
        f"{ANNOTATION_SIGNING_KEYS}={RENEW} to generate new keys (the old public keys stay "
        "trusted, so old checkpoints still verify)"
    )


def _public_keys_missing(pipeline: Pipeline) -> Problem:
    secret, keys = generated_secret_name(pipeline), generated_keys_name(pipeline)
    return "LogPublicKeysMissing", (
        f"ConfigMap {keys} is gone but Secret {secret} exists; the operator never reads "
        f"Secrets, so it cannot recreate the public keys: recreate ConfigMap {keys} with "
        f"key {PUBLIC_KEYS} (docs/kubernetes.md shows how)"
    )


def _renewal_blocked(pipeline: Pipeline) -> Problem:
    secret, keys = generated_secret_name(pipeline), generated_keys_name(pipeline)
    return "SigningKeyRenewalBlocked", (
        f"ConfigMap {keys} asks for new keys ({ANNOTATION_SIGNING_KEYS}={RENEW}) but Secret "
        f"{secret} exists and is never overwritten: delete it first (keep a copy), or set the "
        f"annotation back to {ISSUED}"
    )


def _conflict(pipeline: Pipeline) -> Problem:
    secret, keys = generated_secret_name(pipeline), generated_keys_name(pipeline)
    return "SigningKeyConflict", (
        f"Secret {secret} was created by someone else while the operator issued new keys, so "
        f"ConfigMap {keys} does not list its public keys: add them to {PUBLIC_KEYS} and set "
        f"{ANNOTATION_SIGNING_KEYS}={ISSUED}, or delete the Secret and set "
        f"{ANNOTATION_SIGNING_KEYS}={RENEW}"
    )
