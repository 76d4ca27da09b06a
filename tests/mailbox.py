"""A real SMTP server for tests (aiosmtpd) that keeps what it receives, and
settings that send mail to it."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import Message

import pytest
from aiosmtpd.controller import Controller


class Recorder:
    """An aiosmtpd handler that keeps what it receives, or answers ``reply``."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.reply = "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if not self.reply.startswith("250"):
            return self.reply
        self.messages.append(
            (list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=email.policy.default))
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def mail_settings(settings, smtp):  # type: ignore[no-untyped-def]
    return settings.with_(
        smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
        smtp_from="Cloudnote Community <help@example.com>",
        base_url="https://forum.example.com/",
        mail_max_attempts=3,
    )


def body_of(message: Message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
