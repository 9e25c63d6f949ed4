"""A handler module whose import (the Lambda init phase) takes longer than any test allows."""

import time

time.sleep(30)


def handler(event, context):
    return {"ok": True}
