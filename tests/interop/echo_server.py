"""WebSocket echo server for wsprobe's interop tests (tests/interop.rs).

Runs under Debian's /usr/bin/python3 with the python3-websockets package
(10.x, legacy asyncio API). Usage: echo_server.py PORT

Prints "listening PORT" once bound, then one line "closed CODE" per
connection with the close code the server saw (1006 means the peer vanished
without a Close frame), so a test can check that wsprobe closed cleanly.
"""

import asyncio
import sys

import websockets


async def echo(ws, path=None):
    # `path` is accepted for websockets < 10.1, which passes it positionally.
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.exceptions.ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        print(f"closed {ws.close_code}", flush=True)


async def main(port):
    # ping_interval=None: the server must not keep an idle connection alive by
    # itself; the tests decide who pings.
    async with websockets.serve(echo, "127.0.0.1", port, ping_interval=None):
        print(f"listening {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
