"""An OTLP/HTTP trace receiver for the tracing tests: decodes every export with the
`opentelemetry-proto` package (the protocol's own generated Python classes) and appends one
JSON line per span to a file.

Usage: otlp_receiver.py SPANS_FILE

Prints "listening on PORT" once it accepts connections on 127.0.0.1 (a free port). Each line of
SPANS_FILE: {"service", "name", "trace_id", "span_id", "parent_span_id", "kind",
"attributes"}, ids in lowercase hex ("" for a root span's parent). Answers every export with an
empty ExportTraceServiceResponse, as a collector does.
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

LOCK = threading.Lock()


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


class Receiver(BaseHTTPRequestHandler):
    spans_file = ""

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        if self.path != "/v1/traces":
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        lines = []
        for resource_spans in request.resource_spans:
            resource = {a.key: value_of(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    lines.append(
                        json.dumps(
                            {
                                "service": resource.get("service.name", ""),
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_span_id": span.parent_span_id.hex(),
                                "kind": span.kind,
                                "attributes": {a.key: value_of(a.value) for a in span.attributes},
                            }
                        )
                    )
        with LOCK, open(self.spans_file, "a", encoding="utf-8") as out:
            for line in lines:
                out.write(line + "\n")
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    Receiver.spans_file = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
