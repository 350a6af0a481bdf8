#!/usr/bin/python3
"""Message sinks for the delivery tests: a real SMTP server (aiosmtpd, from
Debian's python3-aiosmtpd) and an HTTP(S) webhook, each appending one JSON
line per received message to OUT (flushed, so a test can read it at once).

  sink.py smtp PORT OUT [--delay-ms N]
  sink.py http PORT OUT [--fail-first N] [--cert PEM --key PEM]

smtp records the envelope and the message as a mail client would see it
(headers decoded per RFC 2047, body decoded from its transfer encoding and
charset), then waits --delay-ms before answering 250: a sender killed in that
window has delivered without knowing it. http answers 503 to the first
--fail-first requests (recording them with "answered": 503), then 200.
Run with /usr/bin/python3 (Debian's interpreter, which has aiosmtpd).
"""
import argparse
import asyncio
import email
import email.policy
import json
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def append(path, record):
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()


def run_smtp(args):
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            raw = envelope.original_content or envelope.content
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            append(args.out, {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "from": str(msg["From"]),
                "to": str(msg["To"]),
                "subject": str(msg["Subject"]),
                "date": str(msg["Date"]),
                "message_id": str(msg["Message-ID"]),
                "x_message_id": str(msg["X-Latchkey-Message-Id"]),
                "content_type": msg.get_content_type(),
                "charset": msg.get_content_charset(),
                "defects": len(msg.defects),
                "body": msg.get_content().replace("\r\n", "\n"),
                "raw": raw.decode("ascii", errors="replace"),
            })
            if args.delay_ms:
                await asyncio.sleep(args.delay_ms / 1000)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


def run_http(args):
    lock = threading.Lock()
    seen = {"count": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8")
            with lock:
                seen["count"] += 1
                status = 503 if seen["count"] <= args.fail_first else 200
                append(args.out, {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "json": json.loads(body),
                    "answered": status,
                })
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["smtp", "http"])
    parser.add_argument("port", type=int)
    parser.add_argument("out")
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    (run_smtp if args.kind == "smtp" else run_http)(args)


if __name__ == "__main__":
    sys.exit(main())
