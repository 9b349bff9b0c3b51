"""Bearer API keys: 401 for a wrong or missing key, 403 for the right key and the wrong role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.i18n import N_
from crm_core.clock import utcnow
from crm_core.staff.models import ApiKey, Role
from crm_core.staff.service import authenticate
from loyalty.api.errors import ApiError, request_language

_bearer = HTTPBearer(auto_error=False, description="A staff API key: `loyalty keys create`.")


def require_role(*roles: Role) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency giving the caller's key if it may use the route. Admins may use every route."""
    allowed = {*roles, Role.ADMIN}

    async def dependency(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
        language: str = Depends(request_language),
    ) -> ApiKey:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiError(401, "key_missing", N_("Sign in with your API key."), language)
        key = await authenticate(credentials.credentials, utcnow())
        if key is None:
            raise ApiError(401, "key_invalid", N_("This API key is unknown or revoked."), language)
        if key.role not in allowed:
            raise ApiError(
                403,
                "role_forbidden",
                N_("Your key's role may not do this."),
                language,
                role=key.role,
            )
        return key

    return dependency
