variable "environment" {
  description = "Environment name (the `environment` attribute every forwarded point carries, and a suffix of every object's name)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,64}$", var.environment))
    error_message = "environment must be 1-64 characters: letters, digits, _ . -"
  }
}

variable "account_id" {
  description = "New Relic account id (digits) that receives the forwarder's metrics and holds the objects."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.account_id))
    error_message = "account_id must be the New Relic account id: digits only."
  }
}

variable "alerts_enabled" {
  description = "Whether the NRQL alert conditions evaluate (false keeps them defined but quiet, e.g. while a load test runs)."
  type        = bool
  default     = true
}

variable "aggregation_delay_seconds" {
  description = "How long an alert waits for a minute's data: the forwarder sends each minute once it has settled in CloudWatch (FORWARDER_SETTLE_SECONDS, 60 s) plus up to a minute of schedule."
  type        = number
  default     = 180

  validation {
    condition     = var.aggregation_delay_seconds >= 0 && var.aggregation_delay_seconds <= 1200
    error_message = "aggregation_delay_seconds must be 0..1200."
  }
}

variable "runbook_url" {
  description = "Runbook linked from every alert condition (empty for none)."
  type        = string
  default     = ""
}

variable "notification_destination_id" {
  description = "Id of an existing New Relic notification destination (e-mail, webhook, Slack... made in the UI or elsewhere); empty to create the policy without a workflow."
  type        = string
  default     = ""
}

variable "notification_channel_type" {
  description = "Type of that destination's channel: EMAIL, WEBHOOK, SLACK or PAGERDUTY_SERVICE_INTEGRATION."
  type        = string
  default     = "EMAIL"

  validation {
    condition     = contains(["EMAIL", "WEBHOOK", "SLACK", "PAGERDUTY_SERVICE_INTEGRATION"], var.notification_channel_type)
    error_message = "notification_channel_type must be EMAIL, WEBHOOK, SLACK or PAGERDUTY_SERVICE_INTEGRATION."
  }
}

variable "notification_channel_properties" {
  description = "Properties of the notification channel (e.g. {subject = \"...\"} for EMAIL, {channelId = \"...\"} for SLACK, {payload = \"...\"} for WEBHOOK)."
  type        = map(string)
  default     = {}
}

variable "on_failure_age_threshold_seconds" {
  description = "Oldest-message age (s) of the ingest on-failure queue that opens the on_failure_age incident: half the time the stream still retains a failed batch's records (the ingest module's on_failure_age_alarm_threshold_seconds); null keeps the catalog's default for 24 h retention and a 1 h maximum record age."
  type        = number
  default     = null

  validation {
    condition     = var.on_failure_age_threshold_seconds == null || try(var.on_failure_age_threshold_seconds > 0, false)
    error_message = "on_failure_age_threshold_seconds must be a positive number of seconds (or null)."
  }
}
