"""A fake DNS for the event loop's lookups, to show which address a connection goes to: it can
answer a public address to the check and a private one to a second lookup (DNS rebinding)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest


class FakeDns:
    """Answers the names it was given, the n-th lookup of a name with its n-th answer (the last one
    repeating); other names go to the real resolver. `lookups` records every name looked up."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self._answers = answers
        self.lookups: list[str] = []
        self._real: Any = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeDns:
        loop = asyncio.get_running_loop()
        self._real = loop.getaddrinfo
        monkeypatch.setattr(loop, "getaddrinfo", self.getaddrinfo)
        return self

    async def getaddrinfo(self, host: Any, port: Any, *, family: int = 0, type: int = 0, proto: int = 0,
                          flags: int = 0) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self._answers:
            return await self._real(host, port, family=family, type=type, proto=proto, flags=flags)
        answers = self._answers[name]
        answer = answers[min(self.lookups.count(name), len(answers) - 1)]
        self.lookups.append(name)
        number = int(port or 0)
        return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, number, 0, 0)) if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, number)) for a in answer]
