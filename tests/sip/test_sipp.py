"""SIPp (Debian's sip-tester) against a running gateway: torture requests get the SIP errors they
call for and never stop it serving, ordinary calls go through, and a stranger is refused."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import Api
from tests.sip.conftest import SUPPORT_LINE

SIPP = "/usr/bin/sipp"
DATA = Path(__file__).parent / "data"


async def sipp(*arguments: str, cwd: Path) -> tuple[int, str]:
    assert shutil.which(SIPP), "SIPp is missing: `make test` installs it (Debian package sip-tester)"
    process = await asyncio.create_subprocess_exec(
        SIPP, *arguments, "-nostdin", "-timeout", "30", "-timeout_error", "-trace_err", "-trace_msg",
        cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace") + "".join(
        p.read_text(errors="replace")[-4000:] for p in cwd.glob("*_errors.log"))


async def test_torture_requests_get_the_errors_they_call_for_and_the_gateway_serves_on(
        client: TestClient, sip_port: int, tmp_path: Path):
    code, output = await sipp(f"127.0.0.1:{sip_port}", "-sf", str(DATA / "torture.xml"), "-i", "127.0.0.1",
                              "-m", "1", cwd=tmp_path)
    assert code == 0, output


@pytest.mark.parametrize("transport", ["u1", "t1"])  # UDP; TCP, one connection
async def test_ordinary_calls_from_sipp_go_into_the_queue(client: TestClient, agent: Api, sip_port: int, tmp_path: Path,
                                                          transport: str):
    code, output = await sipp(f"127.0.0.1:{sip_port}", "-sn", "uac", "-s", SUPPORT_LINE, "-i", "127.0.0.1",
                              "-t", transport, "-m", "3", "-l", "3", "-r", "10", "-d", "500", cwd=tmp_path)
    assert code == 0, output
    calls = (await agent.get("/api/v1/conversations?channel=voice"))["items"]
    assert len(calls) == 3


async def test_a_stranger_is_refused(client: TestClient, sip_port: int, tmp_path: Path):
    code, output = await sipp(f"127.0.0.1:{sip_port}", "-sn", "uac", "-s", SUPPORT_LINE, "-i", "127.0.0.2",
                              "-m", "1", cwd=tmp_path)
    assert code != 0 and "403" in output, output


@pytest.mark.parametrize("sip_settings", [{"max_calls": 2}])
async def test_calls_beyond_max_calls_are_turned_away_with_503(client: TestClient, agent: Api, sip_port: int,
                                                              tmp_path: Path, sip_settings: dict):
    code, output = await sipp(f"127.0.0.1:{sip_port}", "-sn", "uac", "-s", SUPPORT_LINE, "-i", "127.0.0.1",
                              "-m", "3", "-l", "3", "-r", "50", "-d", "3000", cwd=tmp_path)
    assert code != 0 and "503" in output, output  # the third call, while two are up
    assert len((await agent.get("/api/v1/conversations?channel=voice"))["items"]) == 2
