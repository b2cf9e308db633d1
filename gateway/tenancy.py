"""Tenant-wide defaults and rules shared by the admin API and the seeding."""

from __future__ import annotations

# An agent's default concurrent work per channel (DESIGN.md: voice 1, chat 3, email 5, fax 5).
DEFAULT_CAPACITY: dict[str, int] = {"voice": 1, "chat": 3, "email": 5, "fax": 5, "callback": 1}
# Roles that occupy a rented seat (tenant admins who only configure do not).
SEAT_ROLES = ("agent", "supervisor")
