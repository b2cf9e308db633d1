"""Voice calls' audio, for every voice channel (WebRTC now, SIP later): each call's legs are
connected, mixed, put on hold and recorded in worker processes, driven by `MediaService`
(service.py) from the gateway's own process."""

from gateway.media.service import MediaError, MediaEvent, MediaService, RecordingInfo

__all__ = ["MediaError", "MediaEvent", "MediaService", "RecordingInfo"]
