"""TLS-capable SMTP server for wsprobe's email TLS tests (tests/email_tls.rs).

Runs under Debian's /usr/bin/python3 with the python3-aiosmtpd package.
Usage: smtp_tls_server.py MODE PORT CERT KEY OUT
  MODE  "starttls" (plain connection, STARTTLS required before MAIL) or
        "tls" (TLS from the first byte, as on port 465)
  CERT, KEY  PEM files of the server's certificate and key
  OUT   file to which one JSON line per accepted message is appended:
        {"tls": "TLSv1.3" or null, "mail_from": ..., "rcpt_tos": [...],
         "content": "..."}; "tls" is the TLS version of the connection the
        message arrived on, read from the transport itself.

Prints "ready PORT" once accepting, and stops by itself after 120 s.
"""

import json
import ssl
import sys
import time

from aiosmtpd.controller import Controller

LIFETIME_SECONDS = 120


class Recorder:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        ssl_object = server.transport.get_extra_info("ssl_object")
        record = {
            "tls": ssl_object.version() if ssl_object is not None else None,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "content": envelope.original_content.decode("utf-8", "replace"),
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 2.0.0 Ok: queued"


def main(mode, port, cert, key, out):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Recorder(out)
    if mode == "starttls":
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            tls_context=context,
            require_starttls=True,
        )
    elif mode == "tls":
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, ssl_context=context
        )
    else:
        sys.exit(f"unknown mode {mode!r}: expected starttls or tls")
    controller.start()
    print(f"ready {port}", flush=True)
    try:
        time.sleep(LIFETIME_SECONDS)
    finally:
        controller.stop()


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
