"""Reads a tickler topic with kafka-python, an independent Kafka client, and prints every
record as one JSON line {"key", "partition", "offset", "value"}.

Usage: kafka_reader.py BROKERS TOPIC COUNT TIMEOUT_SECONDS

Stops after COUNT records or TIMEOUT_SECONDS, whichever comes first. Exits 0 in both cases:
the Rust test decides what it expected.
"""

import json
import sys
import time
import uuid

from kafka import KafkaConsumer


def main() -> int:
    brokers, topic, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
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
    try:
        while seen < count and time.monotonic() < deadline:
            for record in consumer:
                print(json.dumps({
                    "key": record.key.decode() if record.key is not None else None,
                    "partition": record.partition,
                    "offset": record.offset,
                    "headers": {k: v.decode() for k, v in record.headers},
                    "value": json.loads(record.value),
                }), flush=True)
                seen += 1
                if seen >= count:
                    break
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
