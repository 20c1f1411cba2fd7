"""Spec of the tamper-evident log: checkpoint cadence, the deployment name, the signing keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from auditpipe_operator.api.base import ApiModel, ResourceName, cel, validations

# Keys of a Secret (what a mounted Secret's file names are).
SecretKey = Annotated[
    str, StringConstraints(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")
]
LOG_KEY = "log.pem"
INGEST_KEY = "ingest.pem"
DEPLOYMENT_PATTERN = r"^[A-Za-z0-9._-]+$"


class TamperEvidence(ApiModel):
    """Signed checkpoints of every tenant's log, signed receipts, and who verifies them."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.signingKeySecret) == has(self.publicKeysConfigMap)",
                "signingKeySecret and publicKeysConfigMap go together (generated keys "
                "publish their public keys in the ConfigMap <pipeline>-log-keys)",
            ),
            cel(
                f"has(self.signingKeySecret) || (self.logKeys == ['{LOG_KEY}'] "
                f"&& self.ingestKey == '{INGEST_KEY}')",
                "logKeys and ingestKey name keys of your own signingKeySecret; "
                f"the generated Secret holds {LOG_KEY} and {INGEST_KEY}",
            ),
            cel(
                "has(self.deployment) == has(oldSelf.deployment) && "
                "(!has(self.deployment) || self.deployment == oldSelf.deployment)",
                "deployment cannot change: it is part of every log origin, so checkpoints "
                "signed under the old name would no longer verify",
            ),
        )
    )

    deployment: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=DEPLOYMENT_PATTERN,
        description="Deployment name in every log origin auditpipe/<deployment>/<tenant> "
        "(default: <namespace>.<pipeline name>). Fixed at creation.",
    )
    checkpoint_events: int = Field(
        default=10_000,
        ge=1,
        le=10_000_000,
        description="Workers sign a checkpoint after this many new events of a tenant.",
    )
    checkpoint_interval_seconds: int = Field(
        default=10,
        ge=1,
        le=86_400,
        description="Workers also sign at least this often while a tenant's log grows.",
    )
    signing_key_secret: ResourceName | None = Field(
        default=None,
        description="Your own Secret with the Ed25519 private keys (PEM PKCS#8 or base64 "
        "seed): logKeys sign checkpoints, ingestKey signs receipts. Empty: the operator "
        "generates <pipeline>-signing once and never replaces it.",
    )
    log_keys: list[SecretKey] = Field(
        default_factory=lambda: [LOG_KEY],
        min_length=1,
        max_length=4,
        description="Keys of signingKeySecret that sign checkpoints, every one of them (list "
        "the old and the new key during a rotation).",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    ingest_key: SecretKey = Field(
        default=INGEST_KEY, description="Key of signingKeySecret that signs receipts."
    )
    public_keys_config_map: ResourceName | None = Field(
        default=None,
        description="With signingKeySecret: a ConfigMap whose key publicKeys holds the JSON "
        "list of public keys the query API trusts (every logKeys key's, and retired ones "
        "whose checkpoints must still verify).",
    )
