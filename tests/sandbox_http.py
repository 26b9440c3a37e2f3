"""Route the clients' HTTP into our own sandbox apps, in process, through the full Django stack.

The clients build real `requests` requests; instead of a socket, an adapter hands them to
Django's test client and turns the answer back into a `requests.Response`. Every request to
and answer from the sandbox sevDesk/Billbee is checked against the official specs on the way.
"""

from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from tests.contracts.billbee import validate_billbee_request, validate_billbee_response
from tests.contracts.sevdesk import validate_sevdesk_request, validate_sevdesk_response

SANDBOX_URL = "http://sandbox.test"
SEVDESK_PATH = "/sandbox/sevdesk/api/v1"
BILLBEE_PATH = "/sandbox/billbee/api/v1"


class SandboxAdapter(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.client = Client()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.sent.append(request)
        self._check_request(request)
        url = urlsplit(request.url)
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in {"content-type", "content-length", "host"}
        }
        answer = self.client.generic(
            request.method,
            url.path + (f"?{url.query}" if url.query else ""),
            data=request.body or b"",
            content_type=request.headers.get("Content-Type", ""),
            headers=headers,
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.content
        response.headers = CaseInsensitiveDict(answer.headers)
        response.reason = answer.reason_phrase
        response.url = request.url
        response.request = request
        self._check_response(request, response)
        return response

    def close(self) -> None:
        pass

    @staticmethod
    def _check_request(request) -> None:
        path = urlsplit(request.url).path
        if path.startswith(SEVDESK_PATH):
            validate_sevdesk_request(
                request.method,
                request.url,
                body=request.body,
                content_type=request.headers.get("Content-Type"),
                headers=dict(request.headers),
            )
        elif path.startswith(BILLBEE_PATH):
            validate_billbee_request(
                request.method, request.url, body=request.body, headers=dict(request.headers)
            )

    @staticmethod
    def _check_response(request, response) -> None:
        path = urlsplit(request.url).path
        if response.status_code >= 500:
            return  # the sandbox's fault switches answer like a proxy, outside the spec
        if path.startswith(SEVDESK_PATH):
            validate_sevdesk_response(
                request.method,
                request.url,
                status=response.status_code,
                body=response.content,
                content_type=response.headers.get("Content-Type", "application/json"),
            )
        elif path.startswith(BILLBEE_PATH):
            validate_billbee_response(
                request.method, request.url, status=response.status_code, body=response.content
            )

    def count(self, path_part: str, method: str | None = None) -> int:
        return sum(
            1
            for request in self.sent
            if path_part in request.url and (method is None or request.method == method)
        )


@pytest.fixture
def sandbox_http(monkeypatch, settings) -> SandboxAdapter:
    """Point both clients at the in-process sandboxes; returns the adapter (it records calls)."""
    adapter = SandboxAdapter()
    original = requests.Session.get_adapter

    def get_adapter(session, url):
        return adapter if url.startswith(SANDBOX_URL) else original(session, url)

    monkeypatch.setattr(requests.Session, "get_adapter", get_adapter)
    settings.SEVDESK_API_BASE_URL = SANDBOX_URL + SEVDESK_PATH
    settings.BILLBEE_API_BASE_URL = SANDBOX_URL + BILLBEE_PATH
    settings.SEVDESK_REQUESTS_PER_SECOND = None
    settings.SANDBOX_BILLBEE_THROTTLE = False
    return adapter
