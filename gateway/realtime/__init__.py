"""Realtime: the socket.io server on the aiohttp app (path /socket.io) with the namespaces
/agent, /supervisor and /visitor, and the forwarder that pushes domain events into their rooms.
Across gateway processes, emits travel through Redis pub/sub (socket.io's Redis manager)."""
