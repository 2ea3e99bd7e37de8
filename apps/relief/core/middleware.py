"""Request plumbing shared by every page."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse


class NotFoundMiddleware:
    """The access helpers raise ObjectDoesNotExist for an unknown key (they know nothing of HTTP); a page
    answers it as Not Found. The API maps it to 404 in relief.api."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, ObjectDoesNotExist):
            raise Http404(str(exception)) from exception
