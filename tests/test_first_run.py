"""A newcomer's first minutes after bin/run: the first sync does not race the web server, and
the Billbee account page says "Verbunden" once Billbee answered a sync."""

import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from django.urls import reverse

from orders.models import BillbeeAccount
from orders.services import orders_sync
from tests.orders_factories import BillbeeAccountFactory, FakeBillbee, billbee_order

ROOT = Path(__file__).resolve().parent.parent


def test_a_successful_sync_marks_the_account_connected(member_client, merchant):
    account = BillbeeAccountFactory(
        merchant=merchant,
        connection_status=BillbeeAccount.ConnectionStatus.FAILED,
        last_error="Billbee war nicht erreichbar",
    )
    page = member_client.get(reverse("orders:billbee_account")).content.decode()
    assert "Verbunden" not in page

    fake = FakeBillbee()
    fake.put(billbee_order())
    orders_sync(account=account, client=fake)

    account.refresh_from_db()
    assert account.connection_status == BillbeeAccount.ConnectionStatus.OK
    assert account.last_error == ""
    page = member_client.get(reverse("orders:billbee_account")).content.decode()
    assert "Verbunden" in page


def test_worker_and_beat_start_only_once_the_web_server_answers():
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile.dev").read_text().splitlines() if line
    )
    assert lines["worker"].strip().startswith("python bin/wait-for-web && celery")
    assert lines["beat"].strip().startswith("python bin/wait-for-web && celery")
    assert "wait-for-web" not in lines["web"]


def _wait(url: str, timeout: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "bin" / "wait-for-web"), url, timeout],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_waiting_for_the_web_server_gives_up_with_a_message():
    with HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as probe:
        port = probe.server_address[1]  # free once closed: nobody answers there
    done = _wait(f"http://127.0.0.1:{port}/health/", "1")
    assert done.returncode == 1
    assert "did not answer" in done.stderr


def test_waiting_ends_as_soon_as_the_server_answers():
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Answer)
    port = server.server_address[1]
    server.server_close()

    def serve_later():
        time.sleep(1.5)
        later = HTTPServer(("127.0.0.1", port), Answer)
        later.timeout = 10
        later.handle_request()
        later.server_close()

    thread = threading.Thread(target=serve_later)
    thread.start()
    started = time.monotonic()
    done = _wait(f"http://127.0.0.1:{port}/health/", "20")
    thread.join()
    assert done.returncode == 0, done.stderr
    assert 1 <= time.monotonic() - started < 15
