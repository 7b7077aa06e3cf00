# A Python `websockets` server for tests/websocket_clients.rs, run as `python -c <this>`.
# Binds 127.0.0.1:0 and prints `PORT <n>`. On each connection it first sends one JSON text
# message describing the handshake it received (path, Authorization, Cookie, the negotiated
# subprotocol and extensions), then echoes every message, text as text and binary as binary.
# It speaks the subprotocols chat.v2 and chat.v1, and permessage-deflate.
import asyncio
import json

from websockets.asyncio.server import serve


async def handler(ws):
    req = ws.request
    await ws.send(json.dumps({
        "path": req.path,
        "authorization": req.headers.get("Authorization"),
        "cookie": req.headers.get("Cookie"),
        "subprotocol": ws.subprotocol,
        "extensions": ws.response.headers.get("Sec-WebSocket-Extensions"),
    }))
    async for message in ws:
        await ws.send(message)


async def main():
    async with serve(handler, "127.0.0.1", 0, subprotocols=["chat.v2", "chat.v1"]) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await server.serve_forever()


asyncio.run(main())
