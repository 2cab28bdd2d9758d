"""A real SMTP server for tests (aiosmtpd on a free local port): the portal sends through
Django's SMTP backend, as in production, and tests read the messages back."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    """What the server received, as parsed messages, with the envelope recipients."""

    messages: list = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients the server bounces (550)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append({"to": list(envelope.rcpt_tos), "message": message, "at": time.time()})
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        with self.lock:
            return [m["message"] for m in self.messages if address.lower() in [a.lower() for a in m["to"]]]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list:
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} message(s) to {address} did not arrive within {timeout} s")

    @staticmethod
    def body(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """Start a real SMTP server and point Django's SMTP backend at it."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield box
    finally:
        controller.stop()
