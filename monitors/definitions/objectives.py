"""Service level objectives and alert thresholds: the numbers the forwarder, the alert
conditions and the service levels share."""

from __future__ import annotations

from typing import Final

# The API's latency objective: API Gateway p95 latency of a minute at or under this.
API_LATENCY_P95_OBJECTIVE_MS: Final = 300.0
# Share of minutes (with API traffic) meeting it, over a rolling 7 days.
API_LATENCY_TARGET_PERCENT: Final = 99.0
# Share of records the consumer handled that were stored (not dead-lettered, not failed).
INGEST_SUCCESS_TARGET_PERCENT: Final = 99.9
SERVICE_LEVEL_WINDOW_DAYS: Final = 7
# The on-failure queue's oldest message: alert once it has waited half the time the stream
# still holds its records (retention less the mapping's maximum record age). This default
# is for the shipped environment files (24 h retention, 1 h maximum record age); Terraform
# passes each environment's own value (terraform/modules/ingest's replay window).
ON_FAILURE_OLDEST_AGE_ALERT_S: Final = (24 * 3600 - 3600) // 2
