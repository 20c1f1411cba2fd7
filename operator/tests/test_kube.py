"""The HTTP client: paths, content types, error mapping, re-login after a 401."""

from __future__ import annotations

import json
from typing import Any

import kopf
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from auditpipe_operator.kube.client import APPLY, MERGE, HttpKube, ObjectRef
from auditpipe_operator.kube.errors import KubeError
from auditpipe_operator.kube.kinds import kind_info
from auditpipe_operator.kube.session import Session

Call = tuple[str, str, Any, str]


class Recorder:
    """A fake transport: records calls, answers from a queue."""

    def __init__(self, *answers: Any) -> None:
        self.calls: list[Call] = []
        self.answers = list(answers)

    async def __call__(self, method: str, path: str, body: Any, content_type: str) -> Any:
        self.calls.append((method, path, body, content_type))
        answer = self.answers.pop(0) if self.answers else {}
        if isinstance(answer, KubeError):
            raise answer
        return answer


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "audit-ingest", "namespace": "ops"},
}


def test_paths_of_core_and_group_kinds() -> None:
    assert kind_info("v1", "Service").collection("ops") == "/api/v1/namespaces/ops/services"
    ref = ObjectRef.of(DEPLOYMENT)
    assert ref.path() == "/apis/apps/v1/namespaces/ops/deployments/audit-ingest"
    pipeline = ObjectRef("auditpipe.dev/v1alpha1", "AuditPipeline", "ops", "audit")
    assert pipeline.path("status") == (
        "/apis/auditpipe.dev/v1alpha1/namespaces/ops/auditpipelines/audit/status"
    )


async def test_apply_is_a_forced_server_side_apply() -> None:
    transport = Recorder({"kind": "Deployment"})
    await HttpKube(transport).apply(DEPLOYMENT, "auditpipe-operator")
    method, path, body, content_type = transport.calls[0]
    assert method == "PATCH"
    assert path.endswith("/deployments/audit-ingest?fieldManager=auditpipe-operator&force=true")
    assert content_type == APPLY
    assert body == DEPLOYMENT


async def test_create_get_delete_map_expected_errors() -> None:
    conflict = KubeError(409, "AlreadyExists", "exists")
    missing = KubeError(404, "NotFound", "gone")
    transport = Recorder({}, conflict, missing, missing, {})
    kube = HttpKube(transport)
    assert await kube.create(DEPLOYMENT) is True
    assert await kube.create(DEPLOYMENT) is False
    assert await kube.get(ObjectRef.of(DEPLOYMENT)) is None
    assert await kube.delete(ObjectRef.of(DEPLOYMENT)) is False
    assert await kube.delete(ObjectRef.of(DEPLOYMENT)) is True
    assert transport.calls[0][1] == "/apis/apps/v1/namespaces/ops/deployments"
    assert transport.calls[-1][2]["propagationPolicy"] == "Background"


async def test_a_dry_run_create_asks_without_creating() -> None:
    transport = Recorder({}, KubeError(409, "AlreadyExists", "exists"))
    kube = HttpKube(transport)
    assert await kube.create(DEPLOYMENT, dry_run=True) is True
    assert await kube.create(DEPLOYMENT, dry_run=True) is False
    assert transport.calls[0][:2] == ("POST", "/apis/apps/v1/namespaces/ops/deployments?dryRun=All")


async def test_other_errors_propagate() -> None:
    kube = HttpKube(Recorder(KubeError(403, "Forbidden", "no")))
    with pytest.raises(KubeError) as caught:
        await kube.get(ObjectRef.of(DEPLOYMENT))
    assert caught.value.forbidden


async def test_list_restores_kind_and_uses_the_selector() -> None:
    transport = Recorder({"items": [{"metadata": {"name": "a"}}]})
    items = await HttpKube(transport).list("apps/v1", "Deployment", "ops", "a=b,c=d")
    assert items == [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}}]
    assert transport.calls[0][1].endswith("/deployments?labelSelector=a%3Db%2Cc%3Dd")


async def test_status_patch_is_a_merge_patch_on_the_subresource() -> None:
    transport = Recorder({})
    ref = ObjectRef("auditpipe.dev/v1alpha1", "AuditPipeline", "ops", "audit")
    await HttpKube(transport).patch(ref, {"status": {"x": 1}}, subresource="status")
    assert transport.calls[0][1].endswith("/auditpipelines/audit/status")
    assert transport.calls[0][3] == MERGE


async def test_session_logs_in_again_after_a_401_and_wraps_errors() -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") == "Bearer old":
            return web.json_response({"reason": "Unauthorized"}, status=401)
        if request.path.endswith("/missing"):
            body = {"kind": "Status", "reason": "NotFound", "message": "x not found"}
            return web.json_response(body, status=404)
        return web.json_response({"ok": json.loads(await request.text() or "null")})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    tokens = iter(["old", "new"])
    async with TestServer(app) as server:
        url = str(server.make_url("/"))
        session = Session(lambda: kopf.ConnectionInfo(server=url, token=next(tokens)))
        try:
            assert await session.request("POST", "/x", {"a": 1}, "application/json") == {
                "ok": {"a": 1}
            }
            with pytest.raises(KubeError) as caught:
                await session.request("GET", "/missing", None, "")
            assert caught.value.not_found
            assert caught.value.message == "x not found"
        finally:
            await session.close()
    assert seen == ["Bearer old", "Bearer new", "Bearer new"]


async def test_unreachable_server_is_a_transient_error() -> None:
    session = Session(lambda: kopf.ConnectionInfo(server="http://127.0.0.1:9"))
    try:
        with pytest.raises(KubeError) as caught:
            await session.request("GET", "/api", None, "")
        assert caught.value.transient
    finally:
        await session.close()
