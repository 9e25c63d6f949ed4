output "dashboard_guid" {
  description = "GUID of the Redline dashboard."
  value       = newrelic_one_dashboard_json.this.guid
}

output "dashboard_url" {
  description = "Link to the dashboard in New Relic."
  value       = newrelic_one_dashboard_json.this.permalink
}

output "alert_policy_id" {
  description = "Id of the alert policy holding the NRQL conditions."
  value       = newrelic_alert_policy.this.id
}

output "alert_condition_ids" {
  description = "Id of each NRQL alert condition, by key (e.g. e2e_latency_p95, forwarder_silence)."
  value       = { for key, condition in newrelic_nrql_alert_condition.this : key => condition.id }
}

output "service_level_ids" {
  description = "Id of each service level, by key (ingest_success, api_latency)."
  value       = { for key, level in newrelic_service_level.this : key => level.sli_guid }
}

output "workflow_id" {
  description = "Id of the notification workflow (null without a destination)."
  value       = one(newrelic_workflow.this[*].id)
}
