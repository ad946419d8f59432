"""Reads a tickler topic with kafka-python, an independent Kafka client, and prints every
record as one JSON line {"key", "partition", "offset", "timestamp", "headers", "value"}.

Usage: kafka_reader.py BROKERS TOPIC COUNT TIMEOUT_SECONDS [IDLE_SECONDS]

Stops after COUNT records or TIMEOUT_SECONDS, whichever comes first. With IDLE_SECONDS it goes
on reading after COUNT records until none arrived for that long (or the timeout), so that
duplicates beyond COUNT are seen too. Exits 0 in every case: the Rust test decides what it
expected.
"""

import json
import sys
import time
import uuid

from kafka import KafkaConsumer


def main() -> int:
    brokers, topic, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    idle = float(sys.argv[5]) if len(sys.argv) > 5 else None
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=brokers,
        group_id=f"interop-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=500,
    )
    seen = 0
    deadline = time.monotonic() + timeout
    last = time.monotonic()

    def reading() -> bool:
        if time.monotonic() >= deadline:
            return False
        if seen < count:
            return True
        return idle is not None and time.monotonic() - last < idle

    try:
        while reading():
            for record in consumer:
                last = time.monotonic()
                print(json.dumps({
                    "key": record.key.decode() if record.key is not None else None,
                    "partition": record.partition,
                    "offset": record.offset,
                    "timestamp": record.timestamp,
                    "headers": {k: v.decode() for k, v in record.headers},
                    "value": json.loads(record.value),
                }), flush=True)
                seen += 1
                if seen >= count and idle is None:
                    break
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
