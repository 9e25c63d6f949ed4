"""Gives a stand-in CloudWatch client boto3's own GetMetricData paginator, so code under test
pages exactly as it does against a real client (pipeline/cloudwatch_pages.py)."""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.paginate import Paginator


class Boto3Paging:
    """Mix into a class with `get_metric_data(**request)`."""

    def get_paginator(self, operation_name: str) -> Paginator:
        assert operation_name == "get_metric_data", operation_name
        session = botocore.session.get_session()
        model = session.get_service_model("cloudwatch").operation_model("GetMetricData")
        config = session.get_paginator_model("cloudwatch").get_paginator("GetMetricData")
        method: Any = self.get_metric_data  # type: ignore[attr-defined]
        return Paginator(method, config, model)
