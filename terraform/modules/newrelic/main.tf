# Redline's New Relic objects for one environment: the dashboard, an alert policy with its
# NRQL conditions, two service levels on a workload, and (with a destination) a workflow.
# The queries come from monitors/definitions (rendered into the *.tftpl files by
# `make dashboards`; a test keeps them current and checks every metric name they read).

locals {
  definitions = jsondecode(templatefile("${path.module}/definitions.json.tftpl", {
    environment = var.environment
  }))
  conditions     = local.definitions.conditions
  service_levels = local.definitions.service_levels
}

resource "newrelic_one_dashboard_json" "this" {
  json = templatefile("${path.module}/dashboard.json.tftpl", {
    environment = var.environment
    account_id  = var.account_id
  })
}

resource "newrelic_alert_policy" "this" {
  name                = "Redline (${var.environment})"
  account_id          = var.account_id
  incident_preference = "PER_CONDITION"
}

resource "newrelic_nrql_alert_condition" "this" {
  for_each = local.conditions

  account_id                     = var.account_id
  policy_id                      = newrelic_alert_policy.this.id
  type                           = "static"
  name                           = "${each.value.name} (${var.environment})"
  description                    = each.value.description
  runbook_url                    = var.runbook_url == "" ? null : var.runbook_url
  enabled                        = var.alerts_enabled
  violation_time_limit_seconds   = 86400
  aggregation_window             = 60
  aggregation_method             = "event_flow"
  aggregation_delay              = var.aggregation_delay_seconds
  fill_option                    = each.value.fill
  fill_value                     = each.value.fill_value
  expiration_duration            = each.value.loss_of_signal_s
  open_violation_on_expiration   = each.value.loss_of_signal_s != null
  close_violations_on_expiration = false

  nrql {
    query = each.value.nrql
  }

  # The on-failure age threshold depends on the environment's stream retention (ingest module).
  critical {
    operator              = each.value.critical.operator
    threshold             = each.key == "on_failure_age" && var.on_failure_age_threshold_seconds != null ? var.on_failure_age_threshold_seconds : each.value.critical.value
    threshold_duration    = each.value.critical.duration_s
    threshold_occurrences = each.value.critical.occurrences
  }

  dynamic "warning" {
    for_each = each.value.warning == null ? [] : [each.value.warning]
    content {
      operator              = warning.value.operator
      threshold             = warning.value.value
      threshold_duration    = warning.value.duration_s
      threshold_occurrences = warning.value.occurrences
    }
  }
}

# Service levels hang on an entity: a workload gathering the environment's functions (from
# New Relic's AWS integration or Lambda layer, when present) and the dashboard.
resource "newrelic_workload" "this" {
  name              = "Redline (${var.environment})"
  account_id        = var.account_id
  scope_account_ids = [var.account_id]

  entity_search_query {
    query = "name LIKE 'redline-%-${var.environment}' OR name = 'Redline (${var.environment})'"
  }
}

resource "newrelic_service_level" "this" {
  for_each = local.service_levels

  guid        = newrelic_workload.this.guid
  name        = each.value.name
  description = each.value.description

  events {
    account_id = var.account_id

    valid_events {
      from  = each.value.valid.from_type
      where = each.value.valid.where

      select {
        attribute = "`${each.value.valid.metric}`"
        function  = each.value.valid.function
      }
    }

    good_events {
      from  = each.value.good.from_type
      where = each.value.good.where

      select {
        attribute = "`${each.value.good.metric}`"
        function  = each.value.good.function
      }
    }
  }

  objective {
    target = each.value.target_percent

    time_window {
      rolling {
        count = each.value.window_days
        unit  = "DAY"
      }
    }
  }
}

resource "newrelic_notification_channel" "this" {
  count = var.notification_destination_id == "" ? 0 : 1

  account_id     = var.account_id
  name           = "Redline (${var.environment})"
  type           = var.notification_channel_type
  destination_id = var.notification_destination_id
  product        = "IINT"

  dynamic "property" {
    for_each = var.notification_channel_properties
    content {
      key   = property.key
      value = property.value
    }
  }
}

resource "newrelic_workflow" "this" {
  count = var.notification_destination_id == "" ? 0 : 1

  account_id            = var.account_id
  name                  = "Redline (${var.environment})"
  muting_rules_handling = "NOTIFY_ALL_ISSUES"

  issues_filter {
    name = "Redline (${var.environment}) policy"
    type = "FILTER"

    predicate {
      attribute = "labels.policyIds"
      operator  = "EXACTLY_MATCHES"
      values    = [newrelic_alert_policy.this.id]
    }
  }

  destination {
    channel_id = newrelic_notification_channel.this[0].id
  }
}
