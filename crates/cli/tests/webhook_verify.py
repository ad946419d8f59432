"""Checks webhook signatures with the official Standard Webhooks library (PyPI
`standardwebhooks`), not with tickler's code.

Reads JSON lines from stdin, each {"name", "secret", "headers", "body"}, and prints one JSON
line per case: {"name", "valid": true|false, "error"?}. A case is valid when the library's
`Webhook(secret).verify(body, headers)` accepts it (which includes its five-minute timestamp
tolerance).
"""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        result = {"name": case["name"]}
        try:
            Webhook(case["secret"]).verify(case["body"], case["headers"])
            result["valid"] = True
        except WebhookVerificationError as error:
            result["valid"] = False
            result["error"] = str(error)
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
