"""`[channels.voice.sip]`: where the gateway listens for SIP, which trunks may send calls, and
numbers (DIDs) to give tenants at start (numbers.py: after that they live in SQL, and the operator
hands them out through the API).

    [channels.voice.sip]
    listen = "0.0.0.0:5060"            # UDP and TCP
    advertised_host = ""               # in Contact and Via; empty: the listen address
    max_calls = 500                    # phone calls at once; more get 503
    [[channels.voice.sip.trunks]]
    name = "carrier"
    addresses = ["203.0.113.10", "198.51.100.0/24"]
    username = ""                      # with password: digest authentication (with or without addresses)
    password = ""
    [channels.voice.sip.trunks.outbound]  # optional: calls the gateway places (callbacks) go out here
    proxy = "203.0.113.10:5060"        # where INVITEs (and REGISTERs) are sent
    transport = "udp"                  # or "tcp"
    domain = ""                        # the host in request URIs; empty: the proxy's
    username = ""                      # answers the trunk's digest challenges, with password
    password = ""
    registration = false               # keep the gateway registered with the trunk (needs username)
    registration_seconds = 600
    ring_seconds = 30                  # an unanswered call is given up after this long
    qualify = true                     # ping the proxy with OPTIONS each minute, for the operator's health view
    [[channels.voice.sip.numbers]]         # given to the tenant once (numbers.py); then the API manages it
    number = "+493012345678"
    tenant = "demo"                    # the tenant's slug
    queue = ""                         # a queue id of that tenant; empty: its default queue
"""

from __future__ import annotations

import ipaddress
from typing import Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class OutboundSettings(BaseModel):
    """How the gateway places calls through a trunk: where to, and how it proves who it is."""

    model_config = ConfigDict(extra="forbid")
    proxy: str
    transport: Literal["udp", "tcp"] = "udp"
    domain: str = Field("", max_length=255)
    username: str = Field("", max_length=100)
    password: SecretStr = SecretStr("")
    registration: bool = False
    registration_seconds: int = Field(600, ge=60, le=86_400)
    ring_seconds: int = Field(30, ge=5, le=300)
    qualify: bool = True  # OPTIONS pings for the trunks' health (sip/health.py), unless it registers

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not host:port")
        return value

    @model_validator(mode="after")
    def _registers_with_credentials(self) -> OutboundSettings:
        if self.registration and not self.username:
            raise ValueError("registering with the trunk needs its username and password")
        if bool(self.username) != bool(self.password.get_secret_value()):
            raise ValueError("a username needs a password, and the other way round")
        return self

    @property
    def host(self) -> str:
        return self.proxy.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.proxy.rpartition(":")[2])


class TrunkSettings(BaseModel):
    """A trunk is known by its addresses, by digest credentials, or by both (then it must come
    from one of its addresses and authenticate)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    addresses: list[str] = Field(default_factory=list)  # IPs or networks
    username: str = Field("", max_length=100)  # digest authentication, with password
    password: SecretStr = SecretStr("")
    outbound: OutboundSettings | None = None

    @model_validator(mode="after")
    def _known_somehow(self) -> TrunkSettings:
        if not self.addresses and not self.username:
            raise ValueError(f"trunk {self.name!r}: give its addresses, or a username and password, or both")
        if bool(self.username) != bool(self.password.get_secret_value()):
            raise ValueError(f"trunk {self.name!r}: a username needs a password, and the other way round")
        return self

    @field_validator("addresses")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for address in value:
            try:
                ipaddress.ip_network(address, strict=False)
            except ValueError:
                raise ValueError(f"{address!r} is not an IP address or network") from None
        return value


class NumberSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str
    tenant: str = Field(min_length=1)
    queue: str = ""

    @field_validator("number")
    @classmethod
    def _e164(cls, value: str) -> str:
        try:
            parsed = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            raise ValueError(f"{value!r} is not a phone number in international form (+...)") from None
        if not phonenumbers.is_possible_number(parsed):
            raise ValueError(f"{value!r} is not a possible phone number")
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class SipSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listen: str = "0.0.0.0:5060"
    advertised_host: str = ""
    # Phone calls at once (waiting and talking); more get 503 with Retry-After, so a trunk's
    # flood or a runaway PBX can't take every media port and worker.
    max_calls: int = Field(500, ge=1, le=100_000)
    trunks: list[TrunkSettings] = Field(default_factory=list)
    numbers: list[NumberSettings] = Field(default_factory=list)

    @field_validator("trunks")
    @classmethod
    def _names_differ(cls, value: list[TrunkSettings]) -> list[TrunkSettings]:
        names = [trunk.name for trunk in value]
        if len(set(names)) != len(names):
            raise ValueError("each trunk needs a name of its own (its health and registration go by it)")
        return value

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            raise ValueError(f"{value!r} is not IP:port") from None
        if not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"{value!r} has no valid port")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])
