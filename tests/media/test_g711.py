"""G.711 against the reference: the standard library's audioop (Sun's g711.c), every value."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gateway.media import g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    audioop = pytest.importorskip("audioop")  # Python 3.11 and 3.12 have it; the project runs on 3.11

EVERY_SAMPLE = np.arange(-32768, 32768, dtype=np.int16)
EVERY_CODE = bytes(range(256))


@pytest.mark.parametrize(("codec", "to_law", "from_law"), [
    ("PCMU", "lin2ulaw", "ulaw2lin"), ("PCMA", "lin2alaw", "alaw2lin")])
def test_every_sample_and_every_code_match_the_reference(codec: str, to_law: str, from_law: str) -> None:
    assert g711.encode(codec, EVERY_SAMPLE) == getattr(audioop, to_law)(EVERY_SAMPLE.tobytes(), 2)
    assert g711.decode(codec, EVERY_CODE).tobytes() == getattr(audioop, from_law)(EVERY_CODE, 2)


def test_a_law_keeps_the_sign() -> None:
    # The bug the small RTP libraries have: a positive sample must come back positive.
    positive, negative = g711.decode("PCMA", g711.encode("PCMA", np.array([4096, -4096], dtype=np.int16))).tolist()
    assert 3900 < positive < 4300 and -4300 < negative < -3900
