"""Reads answers of ory-proxy with h11 (a strict HTTP/1.1 implementation) in the client role.

Usage: h11_answers.py HOST:PORT CASES_JSON

Each case is {"method", "target", "headers"?: [[n, v]], "body"?: str, "again"?: bool,
"raw"?: str (latin-1)}. The request goes through h11 (so h11 knows what it asked, HEAD or an
upgrade); with "raw", those bytes are written instead (hostile requests h11 would refuse to
write). With "again", a second identical request follows on the same connection when the first
answer kept it.

Prints one JSON list per case: for each answer its status, headers (lower-case names), body,
whether the connection was kept, closed, or switched protocols. Any h11 ProtocolError (a
malformed answer, bad framing, bytes after a close) is an uncaught exception: exit status 1.
"""

import json
import socket
import sys

import h11


def next_answer(sock, conn):
    """The final response (or the 101), its body, and whether the server closed after it."""
    response, body, closed = None, b"", False
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(sock.recv(65536))
        elif event is h11.PAUSED:
            break
        elif isinstance(event, h11.InformationalResponse):
            if event.status_code == 101:
                response = event
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
        elif isinstance(event, h11.ConnectionClosed):
            closed = True
            break
    return response, body, closed


def wait_for_close(sock, conn):
    """After an answer that ends the connection: only the end may follow."""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(sock.recv(65536))
        elif isinstance(event, h11.ConnectionClosed):
            return
        else:
            raise RuntimeError(f"{event!r} after the last answer")


def run(addr, case):
    sock = socket.create_connection(addr, timeout=20)
    conn = h11.Connection(our_role=h11.CLIENT)
    answers = []
    for _ in range(2 if case.get("again") else 1):
        headers = [("Host", "x")] + [tuple(h) for h in case.get("headers", [])]
        body = case.get("body")
        if body is not None:
            headers.append(("Content-Length", str(len(body))))
        out = conn.send(h11.Request(method=case["method"], target=case["target"], headers=headers))
        if body is not None:
            out += conn.send(h11.Data(data=body.encode()))
        out += conn.send(h11.EndOfMessage())
        if "raw" in case:
            out = case["raw"].encode("latin-1")
        sock.sendall(out)
        response, body, closed = next_answer(sock, conn)
        answer = {
            "status": response.status_code,
            "headers": {n.decode().lower(): v.decode("latin-1") for n, v in response.headers},
            "body": body.decode("latin-1"),
            "kept": False,
            "closed": closed,
            "switched": conn.our_state is h11.SWITCHED_PROTOCOL,
        }
        answers.append(answer)
        if answer["switched"]:
            break
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            answer["kept"] = True
            conn.start_next_cycle()
            continue
        if not closed:
            wait_for_close(sock, conn)
            answer["closed"] = True
        break
    sock.close()
    return answers


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    cases = json.loads(sys.argv[2])
    print(json.dumps([run((host, int(port)), case) for case in cases]))


if __name__ == "__main__":
    main()
