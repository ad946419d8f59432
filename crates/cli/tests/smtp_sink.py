"""An SMTP server (aiosmtpd) that records every message it accepts, for the e-mail tests.

Usage: smtp_sink.py PORT OUTPUT_FILE [--die-in-data]

Listens on 127.0.0.1:PORT (aiosmtpd's Controller needs a free port; 0 does not work), prints
"ready" once it accepts connections, and appends one JSON line per accepted message to
OUTPUT_FILE: envelope sender and recipients, the headers the tests check, and each MIME part's
content type and text. Recipients decide the reply to RCPT, to exercise tickler's retries:

  temporary+N@...  answered 451 (try again later) to the first N attempts, then accepted
  reject@...       answered 550 (mailbox unavailable: permanent)
  anything else    accepted

Runs until killed. With --die-in-data the process exits (os._exit, as a crashed server) at
the first message, after the client sent the whole DATA and before any reply: the sender cannot
know whether the message was taken.
"""

import asyncio
import email
import email.policy
import json
import os
import re
import sys
import time

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, output: str, die_in_data: bool) -> None:
        self.output = output
        self.die_in_data = die_in_data
        self.temporary_refusals: dict[str, int] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local == "reject":
            return "550 5.1.1 mailbox unavailable"
        match = re.fullmatch(r"temporary\+(\d+)", local)
        if match:
            refused = self.temporary_refusals.get(address, 0)
            if refused < int(match.group(1)):
                self.temporary_refusals[address] = refused + 1
                return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.die_in_data:
            os._exit(3)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append({"content_type": part.get_content_type(), "text": part.get_content()})
        record = {
            "received_at": time.time(),
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": message["subject"],
            "from": message["from"],
            "to": message["to"],
            "message_id": message["message-id"],
            "date": message["date"],
            "content_type": message.get_content_type(),
            "parts": parts,
        }
        with open(self.output, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 2.0.0 message accepted"


def main() -> int:
    port, output = int(sys.argv[1]), sys.argv[2]
    die_in_data = "--die-in-data" in sys.argv[3:]
    controller = Controller(Recorder(output, die_in_data), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
