"""GetMetricData, page by page: the one place Redline follows NextToken.

boto3's paginator for `get_metric_data` carries NextToken from page to page; the load-test
reader and the forwarder both read CloudWatch through `metric_data_pages`, so a change in
how pages are fetched (a page limit, a retry policy) is made once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

# Far above any real run (100,800 datapoints a page): a server that keeps answering NextToken
# must not loop a reader forever.
MAX_PAGES: Final = 1000


class TooManyPagesError(RuntimeError):
    """GetMetricData kept answering NextToken past MAX_PAGES pages."""


def metric_data_pages(cloudwatch: Any, request: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Each GetMetricData response page for `request` (one call each), in order."""
    paginator = cloudwatch.get_paginator("get_metric_data")
    for number, page in enumerate(paginator.paginate(**request), start=1):
        if number > MAX_PAGES:
            raise TooManyPagesError(
                f"GetMetricData answered more than {MAX_PAGES} pages for one request; "
                "narrow the time range or the queries"
            )
        yield page
