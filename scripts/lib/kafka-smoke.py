"""Round-trips one keyed record with headers through a Kafka-compatible broker.

Usage: kafka-smoke.py HOST:PORT

The test command runs this against its throwaway tansu broker before the test suites, so a broken
broker or an incompatible client library fails in seconds with a clear message instead of as a
scatter of test failures. tansu does not auto-create topics, so the topic is created first.
"""

import sys
import time
import uuid

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic


def main() -> int:
    brokers = sys.argv[1]
    topic = f"smoke-{uuid.uuid4().hex[:12]}"
    key = b"task-0001"
    value = b'{"type":"task.created"}'
    headers = [("event-type", b"task.created")]

    admin = KafkaAdminClient(bootstrap_servers=brokers, client_id="tickler-smoke")
    admin.create_topics([NewTopic(name=topic, num_partitions=3, replication_factor=1)])
    admin.close()

    # batch_size=0: one record per batch, the only mode in which tansu keeps offsets exact.
    producer = KafkaProducer(bootstrap_servers=brokers, acks="all", linger_ms=0, batch_size=0)
    sent = producer.send(topic, key=key, value=value, headers=headers).get(timeout=20)
    producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=brokers,
        group_id=f"{topic}-group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            for record in consumer:
                if record.key != key or record.value != value or record.headers != headers:
                    print(f"kafka smoke: record came back changed: {record}", file=sys.stderr)
                    return 1
                if record.partition != sent.partition or record.offset != sent.offset:
                    print(f"kafka smoke: record moved: sent {sent}, got {record}", file=sys.stderr)
                    return 1
                consumer.commit()
                return 0
    finally:
        consumer.close()
    print(f"kafka smoke: no record consumed from {topic} within 30 s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
