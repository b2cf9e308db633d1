"""Ids are UUIDv7: ordered by time, so a time bound selects rows through the primary key."""

from __future__ import annotations

import time
from datetime import timedelta

from gateway.db.schema import first_id_at, new_id, utcnow


def test_ids_made_after_a_moment_sort_after_its_first_id_and_ids_made_before_sort_before():
    before = new_id()
    time.sleep(0.003)
    moment = utcnow()
    after = new_id()
    assert before < first_id_at(moment) <= after
    assert first_id_at(moment) < first_id_at(moment + timedelta(milliseconds=1))
    assert len(first_id_at(moment)) == len(after) and first_id_at(moment)[14] == "0"
