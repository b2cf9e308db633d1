"""A throwaway Dovecot IMAP server for the email tests, on free loopback ports.

Everything lives in one temp dir: config, self-signed certificate, passwd-file, maildirs, log,
base_dir (with the master's pidfile) and state_dir, so the machine's own Dovecot (Debian starts one
on install) is never touched. The plain port offers STARTTLS, the other one implicit TLS; plaintext
LOGIN is allowed on the plain port so tests can also log in without TLS.
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import aioimaplib

_PR_SET_PDEATHSIG = 1
# A name in the certificate that never resolves (.invalid, RFC 6761): connecting by it must go
# to an address given separately, and TLS can still be checked against it.
CERT_NAME = "imap.wecc.invalid"


class DovecotMissing(RuntimeError):
    pass


def _die_with(parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:  # runs in the child between fork and exec: no Dovecot outlives pytest
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _greets(port: int) -> bool:
    """Whether imap-login answers on the port (the master binds it before any login process runs)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            return sock.recv(64).startswith(b"* OK")
    except OSError:
        return False


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _dovecot_binary() -> str:
    found = shutil.which("dovecot", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if found is None:
        raise DovecotMissing(
            "Dovecot is not installed: the email tests need a real IMAP server. Run `make test` "
            "(it installs the Debian package dovecot-imapd as root), or `apt-get install dovecot-imapd`."
        )
    return found


def _make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, 127.0.0.1 and CERT_NAME (the openssl CLI:
    dovecot-core depends on it)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", f"subjectAltName=DNS:localhost,DNS:{CERT_NAME},IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


class Dovecot:
    host = "127.0.0.1"

    def __init__(self) -> None:
        self._binary = _dovecot_binary()
        self.imap_port = _free_port()
        self.imaps_port = _free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="wecc-dovecot-"))
        # Dovecot's own processes (uid dovecot/dovenull, mail as the mail uid) must reach their files.
        self._dir.chmod(0o755)
        self._users = self._dir / "users"
        self._mail = self._dir / "mail"
        self._log = self._dir / "dovecot.log"
        self._stderr = self._dir / "stderr.log"
        self._config = self._dir / "dovecot.conf"
        self._process: subprocess.Popen[bytes] | None = None
        self._passwords: dict[str, str] = {}
        try:
            self.cert_path, key_path = _make_certificate(self._dir)
            self._write_config(key_path)
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise

    def _write_config(self, key_path: Path) -> None:
        if os.geteuid() == 0:
            internal_user, login_user = "dovecot", "dovenull"
        else:  # an unprivileged Dovecot runs every process as the user who starts it
            internal_user = login_user = pwd.getpwuid(os.geteuid()).pw_name
        mail_owner = pwd.getpwnam(internal_user)
        internal_group = grp.getgrgid(mail_owner.pw_gid).gr_name
        for path in (self._dir / "run", self._dir / "state", self._mail):
            path.mkdir()
        os.chown(self._mail, mail_owner.pw_uid, mail_owner.pw_gid)
        self._users.mkdir()
        privileged = os.geteuid() == 0  # else no chroots: only root may
        self._config.write_text(f"""\
base_dir = {self._dir}/run
state_dir = {self._dir}/state
log_path = {self._log}
protocols = imap
listen = {self.host}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
auth_verbose = yes
auth_failure_delay = 0
disable_plaintext_auth = no
ssl = yes
ssl_cert = <{self.cert_path}
ssl_key = <{key_path}
mail_location = maildir:{self._mail}/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self._users}/%u
}}
userdb {{
  driver = static
  args = uid={mail_owner.pw_uid} gid={mail_owner.pw_gid} home={self._mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port}
    ssl = yes
  }}
  chroot = {"login" if privileged else ""}
}}
service anvil {{
  chroot = {"empty" if privileged else ""}
}}
""")

    # -- life cycle --------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> None:
        # The kernel's parent-death signal follows the *thread* that started Dovecot: started from
        # a worker thread (asyncio.to_thread), it would die when that thread is retired.
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("start and restart Dovecot from the main thread, not asyncio.to_thread")
        if self._process is not None:
            raise RuntimeError("Dovecot is already running")
        with self._stderr.open("ab") as stderr:  # what the master says before its log process runs
            self._process = subprocess.Popen(
                [self._binary, "-F", "-c", str(self._config)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                start_new_session=True,  # its own process group, which stop() signals as a whole
                preexec_fn=_die_with(os.getpid()),
            )
        deadline = time.monotonic() + timeout
        while not (_greets(self.imap_port) and _accepts(self.imaps_port)):
            if self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"Dovecot exited at start:\n{self._stderr.read_text(errors='replace')}\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Dovecot did not listen within {timeout}s:\n{self.log()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """Stops every Dovecot process at once, as a service manager would, dropping the clients.

        (SIGTERM to the master alone lets it exit while its imap processes, orphaned, keep their
        clients connected for another 10 seconds before saying "Server shutting down".)"""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        deadline = time.monotonic() + timeout
        while (_accepts(self.imap_port) or _accepts(self.imaps_port)) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        """Stops Dovecot (dropping every client connection) and starts it again on the same ports
        and data."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def log(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return self._log.read_text(errors="replace")
        return ""

    # -- users and mail ----------------------------------------------------------------------

    def add_user(self, name: str, password: str | None = None) -> str:
        """Adds a mail user; returns the password (a random one unless given)."""
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name) or name.startswith("."):
            raise ValueError(f"unusable user name {name!r}")
        password = password if password is not None else secrets.token_urlsafe(12)
        if ":" in password or "\n" in password:
            raise ValueError("a passwd-file password cannot hold ':' or a newline")
        # One passwd-file per user: Dovecot checks a known file for changes at most once a second,
        # so a user appended to a shared file could stay unknown for a moment.
        with (self._users / name).open("x") as users:
            users.write(f"{name}:{{PLAIN}}{password}::::::\n")
        (self._users / name).chmod(0o644)
        self._passwords[name] = password
        return password

    async def _session(self, user: str) -> aioimaplib.IMAP4:
        client = aioimaplib.IMAP4(self.host, self.imap_port, timeout=10)
        await client.wait_hello_from_server()
        response = await client.login(user, self._passwords[user])
        if response.result != "OK":
            raise RuntimeError(f"Dovecot refused the login of {user!r}: {response.lines}")
        return client

    async def append(self, user: str, raw: bytes, mailbox: str = "INBOX") -> None:
        """Delivers a message with IMAP APPEND (creating the mailbox if needed)."""
        client = await self._session(user)
        try:
            if mailbox.upper() != "INBOX":
                await client.create(mailbox)  # NO if it exists already: fine
            response = await client.append(raw, mailbox)
            if response.result != "OK":
                raise RuntimeError(f"APPEND to {user}/{mailbox} failed: {response.lines}")
        finally:
            await client.logout()

    async def count(self, user: str, mailbox: str = "INBOX") -> int:
        """How many messages the mailbox holds (0 if it doesn't exist)."""
        return await self._status(user, mailbox, "MESSAGES")

    async def unseen(self, user: str, mailbox: str = "INBOX") -> int:
        """How many of its messages are not marked \\Seen."""
        return await self._status(user, mailbox, "UNSEEN")

    async def _status(self, user: str, mailbox: str, item: str) -> int:
        client = await self._session(user)
        try:
            response = await client.status(mailbox, f"({item})")
        finally:
            await client.logout()
        if response.result != "OK":
            return 0
        for line in response.lines:
            if isinstance(line, bytes) and (found := re.search(rb"\b" + item.encode() + rb" (\d+)", line)):
                return int(found.group(1))
        raise RuntimeError(f"no {item} in STATUS answer: {response.lines}")
