"""Socket.IO server for wsprobe's protocol preset tests (tests/check_protocols.rs).

Runs under Debian's /usr/bin/python3 with python3-socketio (5.x, Engine.IO 4)
and python3-aiohttp. Usage: socketio_server.py PORT accept|refuse

`accept`: the default namespace admits every client. `refuse`: its connect
handler refuses every client, so the server answers the namespace CONNECT
with a CONNECT_ERROR packet `44{"message":"auth refused"}`.
Prints "listening PORT" once bound, then "connect SID" and "disconnect SID"
per client, so a test can see the client left the namespace.
"""

import sys

import socketio
from aiohttp import web


def app(mode):
    sio = socketio.AsyncServer(async_mode="aiohttp")

    @sio.event
    async def connect(sid, environ, auth):
        if mode == "refuse":
            raise socketio.exceptions.ConnectionRefusedError("auth refused")
        print(f"connect {sid}", flush=True)

    @sio.event
    async def disconnect(sid):
        print(f"disconnect {sid}", flush=True)

    application = web.Application()
    sio.attach(application)
    return application


async def serve(port, mode):
    runner = web.AppRunner(app(mode))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"listening {port}", flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    import asyncio

    asyncio.run(serve(int(sys.argv[1]), sys.argv[2]))
