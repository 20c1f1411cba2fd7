"""Errors from the API server, wrapped at the edge so handlers never see aiohttp."""

from __future__ import annotations


class KubeError(Exception):
    """The API server refused a request, or could not be reached (``status`` 0)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def not_found(self) -> bool:
        """404: the object (or its kind) does not exist."""
        return self.status == 404

    @property
    def conflict(self) -> bool:
        """409: already exists, or an update conflict."""
        return self.status == 409

    @property
    def forbidden(self) -> bool:
        """403: RBAC does not allow it."""
        return self.status == 403

    @property
    def invalid(self) -> bool:
        """400 or 422: the request itself is wrong; repeating it will not help."""
        return self.status in (400, 422)

    @property
    def transient(self) -> bool:
        """Unreachable, throttled or a server-side failure: worth retrying soon."""
        return self.status == 0 or self.status == 429 or self.status >= 500
