"""baresip (Debian's, 1.0) as a customer's phone, driven over its ctrl_tcp module: JSON commands in
netstrings (`dial`, `hangup`, `sndcode` for a key press), call events pushed back. It plays a
tone from a WAV file and dumps what it hears (the sndfile module) to a WAV we read as it grows.

Headless: `aubridge` is the (silent) player, since aufile is only a source in this version;
`net_interface 127.0.0.1` keeps its SDP on loopback. baresip also takes the SIP port + 1 (TLS),
so the ports are picked with that one free too."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import wave
from pathlib import Path
from typing import Any

import av
import numpy as np

from tests.media.support import PATIENCE_SECONDS, RATE

BARESIP = "/usr/bin/baresip"
MODULES = "/usr/lib/baresip/modules"


def free_port_pair() -> int:
    """A UDP/TCP port p with p+1 free too."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        port -= port % 2
        if all(_free(p) for p in (port, port + 1)):
            return port
    raise RuntimeError("no free pair of ports")


def _free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def write_tone(path: Path, frequency: float, seconds: float = 120.0) -> None:
    """The phone's microphone: longer than any test call (baresip hangs up at the file's end)."""
    t = np.arange(int(8000 * seconds)) / 8000
    samples = (np.sin(2 * np.pi * frequency * t) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())


class Baresip:
    def __init__(self, directory: Path, frequency: float, user: str = "caller",
                 auth: tuple[str, str] | None = None, answer: str = "auto", registrar: int | None = None) -> None:
        """`auth`: the (username, password) it answers digest challenges with, as a PBX trunk does;
        `answer`: how it takes calls to it, "auto" (at once) or "manual" (the `accept` command);
        `registrar`: the port on 127.0.0.1 it registers with (an agent's phone), else it does not."""
        self.directory = directory
        self.auth = auth
        self.frequency = frequency
        self.user = user
        self.answer = answer
        self.registrar = registrar
        self.sip_port = free_port_pair()
        self.ctrl_port = free_port_pair()
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._tokens = 0
        self._to_48k = av.AudioResampler(format="s16", layout="mono", rate=RATE)

    async def start(self) -> None:
        assert shutil.which(BARESIP), "baresip is missing: `make test` installs it (Debian package baresip)"
        dumps = self.directory / "dumps"
        dumps.mkdir(parents=True)
        write_tone(self.directory / "tone.wav", self.frequency)
        rtp = free_port_pair()
        config = {
            "poll_method": "epoll", "net_interface": "127.0.0.1", "sip_listen": f"127.0.0.1:{self.sip_port}",
            "call_local_timeout": "120", "call_max_calls": "4",
            "audio_player": "aubridge,player-" + self.directory.name, "audio_alert": "aubridge,alert-" + self.directory.name,
            "audio_source": f"aufile,{self.directory / 'tone.wav'}",
            "ausrc_srate": "8000", "auplay_srate": "8000", "ausrc_channels": "1", "auplay_channels": "1",
            "audio_level": "no", "ausrc_format": "s16", "auplay_format": "s16", "auenc_format": "s16",
            "audec_format": "s16", "rtp_ports": f"{rtp}-{rtp + 19}", "rtcp_mux": "no",
            "jitter_buffer_delay": "5-10", "rtp_stats": "no", "module_path": MODULES,
            "ctrl_tcp_listen": f"127.0.0.1:{self.ctrl_port}", "snd_path": str(dumps),
        }
        lines = [f"{key}\t{value}" for key, value in config.items()]
        lines += [f"module\t{m}" for m in ("g711.so", "sndfile.so", "aufile.so", "aubridge.so")]
        lines += ["module_tmp\tuuid.so", "module_tmp\taccount.so", "module_app\tmenu.so", "module_app\tctrl_tcp.so"]
        (self.directory / "config").write_text("\n".join(lines) + "\n")
        auth = f";auth_user={self.auth[0]};auth_pass={self.auth[1]}" if self.auth else ""
        home, regint = (self.registrar, 60) if self.registrar else (self.sip_port, 0)
        (self.directory / "accounts").write_text(
            f"<sip:{self.user}@127.0.0.1:{home}>{auth};regint={regint};answermode={self.answer}\n")
        (self.directory / "contacts").write_text("")
        log = open(self.directory / "baresip.log", "wb")  # noqa: SIM115 - kept for the process's life
        self._process = subprocess.Popen([BARESIP, "-f", str(self.directory)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        async with asyncio.timeout(PATIENCE_SECONDS):
            while True:
                try:
                    reader, self._writer = await asyncio.open_connection("127.0.0.1", self.ctrl_port)
                    break
                except OSError:
                    assert self._process.poll() is None, (self.directory / "baresip.log").read_text()
                    await asyncio.sleep(0.1)
        self._reader_task = asyncio.create_task(self._read(reader))

    async def stop(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
        if self._writer is not None:
            self._writer.close()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(asyncio.to_thread(self._process.wait), 5)
            except TimeoutError:
                self._process.kill()

    # Commands and events.

    def command(self, command: str, params: str = "") -> None:
        assert self._writer is not None
        self._tokens += 1
        body = json.dumps({"command": command, "params": params, "token": f"t{self._tokens}"}).encode()
        self._writer.write(str(len(body)).encode() + b":" + body + b",")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        while chunk := await reader.read(65536):
            buffer += chunk
            while b":" in buffer:
                length, _, rest = buffer.partition(b":")
                if len(rest) < int(length) + 1:
                    break
                message, buffer = json.loads(rest[:int(length)]), rest[int(length) + 1:]
                if message.get("event"):
                    self.events.append(message)
                    self._changed.set()

    async def wait_for(self, event_type: str, seconds: float = PATIENCE_SECONDS, after: int = 0) -> dict[str, Any]:
        """The first event of that type (from the start, or from the `after`th event on), waiting
        for it if need be."""
        async with asyncio.timeout(seconds):
            while True:
                for event in self.events[after:]:
                    if event.get("type") == event_type:
                        return event
                self._changed.clear()
                await self._changed.wait()

    # What the phone hears.

    def _dump(self) -> Path | None:
        received = sorted((self.directory / "dumps").glob("*-dec.wav"))
        return received[-1] if received else None

    async def listen(self, seconds: float) -> np.ndarray:
        """The next `seconds` the phone hears, at 48 kHz (read from its growing dump)."""
        async with asyncio.timeout(PATIENCE_SECONDS):
            while (dump := self._dump()) is None:
                await asyncio.sleep(0.05)
            start = dump.stat().st_size
            wanted = int(seconds * 8000) * 2
            while dump.stat().st_size - start < wanted:
                await asyncio.sleep(0.05)
        with open(dump, "rb") as raw:
            raw.seek(start + (start % 2))
            samples = np.frombuffer(raw.read(wanted), dtype="<i2").astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 8000
        return np.concatenate([f.to_ndarray().reshape(-1) for f in self._to_48k.resample(frame)])

    @property
    def heard(self) -> Baresip:
        return self  # what tests.media.support.until_heard listens to, as on a ClientPeer


@contextlib.asynccontextmanager
async def phone(directory: Path, frequency: float):
    caller = Baresip(directory, frequency)
    await caller.start()
    try:
        yield caller
    finally:
        await caller.stop()
