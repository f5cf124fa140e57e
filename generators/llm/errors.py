"""Errors raised by the LLM layer and the retry classification of provider errors.

Every error the client raises is an :class:`LLMError` whose message is one line naming
the role and the model, e.g.
``LLM call failed (role=mutator, model=openai/gpt-4o-mini): AuthenticationError: bad key``.
"""

from __future__ import annotations

__all__ = ["LLMError", "BudgetExceeded", "is_retriable", "one_line"]

# HTTP status codes worth another attempt: request timeout, conflict, rate limit, and 5xx.
_RETRIABLE_STATUS = frozenset({408, 409, 429})


class LLMError(RuntimeError):
    """A failed LLM call (after any retries) or a misconfigured client; one-line message."""


class BudgetExceeded(LLMError):
    """A :class:`~generators.llm.config.Budget` cap was reached; no further provider calls are made."""


def one_line(text: object, limit: int = 300) -> str:
    """Collapse ``text`` to a single line of at most ``limit`` characters."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def is_retriable(exc: BaseException) -> bool:
    """True if ``exc`` is transient: rate limit (429), timeout, connection error, or a 5xx.

    Authentication (401), permission (403), not-found (404), bad-request (400, incl. context
    window and unsupported parameters) and any non-provider exception are not retriable.
    Only call this after litellm has been imported (only litellm raises these errors).
    """
    import litellm
    import openai

    non_retriable = (
        litellm.AuthenticationError,
        litellm.BadRequestError,
        litellm.NotFoundError,
        litellm.PermissionDeniedError,
        litellm.UnprocessableEntityError,
        openai.AuthenticationError,
        openai.BadRequestError,
        openai.NotFoundError,
        openai.PermissionDeniedError,
    )
    if isinstance(exc, non_retriable):
        return False
    retriable = (
        litellm.RateLimitError,
        litellm.Timeout,
        litellm.APIConnectionError,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
        litellm.BadGatewayError,
        openai.RateLimitError,
        openai.APIConnectionError,  # includes openai.APITimeoutError
        openai.InternalServerError,
        TimeoutError,
    )
    if isinstance(exc, retriable):
        return True
    status = getattr(exc, "status_code", None)
    if isinstance(exc, openai.APIError) and isinstance(status, int):
        return status in _RETRIABLE_STATUS or status >= 500
    return False
