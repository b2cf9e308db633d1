"""Tenant-wide defaults and rules shared by the admin API and the seeding."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# An agent's default concurrent work per channel (DESIGN.md: voice 1, chat 3, email 5, fax 5).
DEFAULT_CAPACITY: dict[str, int] = {"voice": 1, "chat": 3, "email": 5, "fax": 5, "callback": 1}
# Roles that occupy a rented seat (tenant admins who only configure do not).
SEAT_ROLES = ("agent", "supervisor")


class Branding(BaseModel):
    """How a business is told apart: its colour marks its work in the inbox of agents who serve
    several businesses, and its logo is there for its pages. Kept in tenants.settings["branding"]."""

    model_config = ConfigDict(extra="forbid")
    color: str = Field("", pattern=r"^(#[0-9a-fA-F]{6})?$", description='"#RRGGBB"; "": none')
    logo_url: str = Field("", max_length=500, pattern=r"^(https://\S+)?$", description="an https:// image; \"\": none")
