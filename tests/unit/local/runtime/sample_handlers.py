"""Tiny handlers the runtime's tests run in real execution environments (by module path)."""

import json
import os
import time

COLD_START_PID = os.getpid()


def echo(event, context):
    return {
        "event": event,
        "pid": COLD_START_PID,
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in ("TABLE_NAME", "AWS_REGION", "ENVIRONMENT")},
    }


def fail(event, context):
    raise ValueError(f"bad event {event.get('n')}")


def sleep(event, context):
    time.sleep(float(event.get("seconds", 0)))
    return {"slept": event.get("seconds"), "pid": COLD_START_PID}


def emf(event, context):
    print(
        json.dumps(
            {
                "_aws": {
                    "Timestamp": int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": "Redline",
                            "Dimensions": [["service", "environment"]],
                            "Metrics": [{"Name": "RecordsStored", "Unit": "Count"}],
                        }
                    ],
                },
                "service": "ingest",
                "environment": "test",
                "RecordsStored": event["stored"],
            }
        ),
        flush=True,
    )
    print("a plain log line", flush=True)
    return None


def exit_process(event, context):
    os._exit(3)


def big_response(event, context):
    """An HTTP API response whose JSON is `bytes` long plus a little."""
    size = int(event.get("bytes") or event.get("queryStringParameters", {}).get("bytes", 0))
    return {"statusCode": 200, "body": "x" * size}
