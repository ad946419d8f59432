"""Checks that a Kafka broker numbers the records of multi-record batches right.

    python kafka-batch-check.py BROKERS [RECORDS]

Produces RECORDS records (default 3,000) with batching (up to 64 KiB or 20 ms per batch) to a new
3-partition topic, then checks, per partition:
- the offsets the producer was acknowledged with are 0, 1, 2, ... in send order (no gap, no
  repeat);
- the latest offset (ListOffsets, read_uncommitted) is the record count;
- a consumer reading from the start sees exactly those records, each at the offset the producer
  was given, in send order;
- a consumer positioned at an offset inside a batch starts at exactly that record, and a group
  that committed that offset resumes there and reads exactly the rest.
Prints what it found and exits 1 on the first kind of error it reports.
"""

import sys
import time
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata

PARTITIONS = 3
DEADLINE_SECONDS = 60


def consume(brokers, topic, group, assign=None, seek=None):
    """Reads records until none arrive for a while after the expected end; returns them."""
    consumer = KafkaConsumer(
        bootstrap_servers=brokers,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    if assign is not None:
        consumer.assign(assign)
        for tp, offset in (seek or {}).items():
            consumer.seek(tp, offset)
    else:
        consumer.subscribe([topic])
    records = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    for message in consumer:
        records.append((message.partition, message.offset, message.value.decode()))
        if time.monotonic() > deadline:
            break
    consumer.close()
    return records


def main():
    brokers = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    topic = f"batch-check-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=brokers)
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    admin.close()

    producer = KafkaProducer(
        bootstrap_servers=brokers,
        acks="all",
        linger_ms=20,
        batch_size=64 * 1024,
        max_in_flight_requests_per_connection=1,
    )
    futures = []
    for i in range(total):
        futures.append(
            producer.send(topic, key=f"key-{i % 40}".encode(), value=f"value-{i}".encode())
        )
    producer.flush()
    sent = {}  # partition -> [(offset, value)] in send order
    for i, future in enumerate(futures):
        metadata = future.get(timeout=30)
        sent.setdefault(metadata.partition, []).append((metadata.offset, f"value-{i}"))
    metrics = producer.metrics().get("producer-metrics", {})
    producer.close()
    print(
        f"produced {total} records to {topic}: "
        f"{metrics.get('records-per-request-avg', 0):.1f} records per produce request on average, "
        f"batches {metrics.get('batch-size-avg', 0):.0f} bytes on average"
    )

    failures = []

    # 1. Producer acknowledgements.
    for partition, rows in sorted(sent.items()):
        offsets = [offset for offset, _ in rows]
        expected = list(range(len(rows)))
        if offsets != expected:
            wrong = [(i, offset) for i, offset in enumerate(offsets) if offset != i]
            failures.append(
                f"partition {partition}: acknowledged offsets are not 0..{len(rows) - 1}; "
                f"first wrong (position, offset): {wrong[:5]}, distinct {len(set(offsets))} "
                f"of {len(offsets)}"
            )
        print(f"partition {partition}: {len(rows)} records, acknowledged offsets "
              f"{offsets[0]}..{offsets[-1]}, {len(set(offsets))} distinct")

    # 2. Latest offsets.
    probe = KafkaConsumer(bootstrap_servers=brokers)
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    try:
        ends = probe.end_offsets(tps)
        for tp in tps:
            count = len(sent.get(tp.partition, []))
            status = "right" if ends[tp] == count else "WRONG"
            print(f"partition {tp.partition}: latest offset {ends[tp]}, records {count}: {status}")
            if ends[tp] != count:
                failures.append(f"partition {tp.partition}: latest offset {ends[tp]} != {count}")
    except Exception as error:  # the broker may drop the connection on ListOffsets
        failures.append(f"ListOffsets(latest) failed: {error!r}")
        print(f"ListOffsets(latest) failed: {error!r}")
    probe.close()

    # 3. A consumer group reading everything.
    read = consume(brokers, topic, f"{topic}-all")
    by_partition = {}
    for partition, offset, value in read:
        by_partition.setdefault(partition, []).append((offset, value))
    for partition, rows in sorted(sent.items()):
        seen = by_partition.get(partition, [])
        if seen != rows:
            missing = len({v for _, v in rows} - {v for _, v in seen})
            dup = len(seen) - len({v for _, v in seen})
            mismatched = [(a, b) for a, b in zip(rows, seen) if a != b]
            failures.append(
                f"partition {partition}: consumer read {len(seen)} of {len(rows)} "
                f"(missing {missing}, repeated {dup}); first (sent, read) mismatches "
                f"{mismatched[:3]}"
            )
        print(f"partition {partition}: consumer read {len(seen)} records, "
              f"{'same offsets and order as acknowledged' if seen == rows else 'DIFFERENT'}")

    # 4. Start inside a batch: by position, then by a committed group offset.
    partition, rows = max(sent.items(), key=lambda item: len(item[1]))
    middle = len(rows) // 2 + 7
    tp = TopicPartition(topic, partition)
    def check_start(how, records):
        first = records[0][1:] if records else None
        print(f"partition {partition}: {how}: first {first}, read {len(records)} "
              f"(expected {rows[middle]}, {len(rows) - middle})")
        if first != rows[middle] or len(records) != len(rows) - middle:
            failures.append(f"partition {partition}: {how} started at {first} and read "
                            f"{len(records)}, expected {rows[middle]} and {len(rows) - middle}")

    check_start(f"fetch from offset {middle}",
                consume(brokers, topic, None, assign=[tp], seek={tp: middle}))
    group = f"{topic}-resume"
    committer = KafkaConsumer(bootstrap_servers=brokers, group_id=group, enable_auto_commit=False)
    committer.commit({tp: OffsetAndMetadata(middle, "", -1)})
    committer.close()
    check_start(f"group resume at committed {middle}",
                [r for r in consume(brokers, topic, group) if r[0] == partition])

    if failures:
        print("FAILED:")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
