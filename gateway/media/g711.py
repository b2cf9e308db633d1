"""G.711 (μ-law and A-law), the codecs every SIP trunk and phone speaks, as numpy lookup tables.

Written by hand: the standard library's `audioop` is deprecated (gone in Python 3.13), and the
small RTP libraries on PyPI get A-law's sign wrong (see the SIP issue's evaluation). The
algorithms are ITU-T G.711's, in the form of Sun's public-domain g711.c (which `audioop` uses
too; tests/media/test_g711.py checks every value against it). Encoding is one table lookup per
sample over all 65,536 16-bit values; decoding one over 256 codes."""

from __future__ import annotations

import numpy as np

_ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int32)  # index = sample + 32768


def _ulaw_encode(x: np.ndarray) -> np.ndarray:
    pcm = x >> 2  # μ-law works on 14 bits
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    pcm = np.minimum(np.abs(pcm), 8159) + 0x21  # clipped, plus the bias
    segment_ends = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    segment = np.searchsorted(segment_ends, pcm)
    code = np.where(segment >= 8, 0x7F, (np.minimum(segment, 7) << 4) | ((pcm >> (np.minimum(segment, 7) + 1)) & 0x0F))
    return ((code ^ mask) & 0xFF).astype(np.uint8)


def _ulaw_decode(codes: np.ndarray) -> np.ndarray:
    u = ~codes.astype(np.int32) & 0xFF
    exponent, mantissa = (u >> 4) & 0x07, u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_encode(x: np.ndarray) -> np.ndarray:
    pcm = x >> 3  # A-law works on 13 bits
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    pcm = np.where(pcm >= 0, pcm, -pcm - 1)
    segment_ends = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    segment = np.searchsorted(segment_ends, pcm)  # the first segment whose end is >= pcm
    shifted = np.where(segment < 2, pcm >> 1, pcm >> np.maximum(segment, 1))
    code = np.where(segment >= 8, 0x7F, (np.minimum(segment, 7) << 4) | (shifted & 0x0F))
    return ((code ^ mask) & 0xFF).astype(np.uint8)


def _alaw_decode(codes: np.ndarray) -> np.ndarray:
    a = codes.astype(np.int32) ^ 0x55
    segment = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(segment == 0, t + 8, (t + 0x108) << np.maximum(segment - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


_ENCODE = {"PCMU": _ulaw_encode(_ALL_SAMPLES), "PCMA": _alaw_encode(_ALL_SAMPLES)}
_DECODE = {"PCMU": _ulaw_decode(np.arange(256)), "PCMA": _alaw_decode(np.arange(256))}
CODECS = tuple(_ENCODE)  # by their SDP names
PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}  # RFC 3551's static numbers
SAMPLE_RATE = 8_000


def encode(codec: str, samples: np.ndarray) -> bytes:
    """8 kHz s16 samples to one byte each."""
    return _ENCODE[codec][samples.astype(np.int32) + 32768].tobytes()


def decode(codec: str, payload: bytes) -> np.ndarray:
    return _DECODE[codec][np.frombuffer(payload, dtype=np.uint8)]
