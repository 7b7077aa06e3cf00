# A Python `websockets` client for tests/websocket_clients.rs, run as
# `python -c <this> URL [COOKIE]`. Offers the subprotocol chat.v1 (and permessage-deflate, the
# library's default), reads the server's first message (JSON), sends a text, a large text and a
# binary message and checks each echo, closes with code 1000 and prints one JSON line of what it
# saw: the 101's headers, the first message, the negotiated subprotocol and the close codes.
# Any protocol error (a refused handshake included) raises, so the exit status is non-zero.
import json
import sys

from websockets.sync.client import connect

url = sys.argv[1]
headers = {"Cookie": sys.argv[2]} if len(sys.argv) > 2 else {}
with connect(url, subprotocols=["chat.v1"], additional_headers=headers, proxy=None,
             open_timeout=20, close_timeout=20) as ws:
    hello = json.loads(ws.recv(timeout=20))
    echoes = []
    for message in ["hello through the proxy", "x" * 200_000, bytes([0, 1, 2, 254, 255]) * 1000]:
        ws.send(message)
        answer = ws.recv(timeout=20)
        echoes.append(type(answer).__name__ + (" ok" if answer == message else " DIFFERENT"))
    ws.close(1000, "done")
    response = ws.response
    print(json.dumps({
        "status": response.status_code,
        "upgrade": response.headers.get("Upgrade"),
        "connection": response.headers.get("Connection"),
        "extensions": response.headers.get("Sec-WebSocket-Extensions"),
        "subprotocol": ws.subprotocol,
        "hello": hello,
        "echoes": echoes,
        "close_sent": ws.protocol.close_sent.code if ws.protocol.close_sent else None,
        "close_rcvd": ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None,
    }))
