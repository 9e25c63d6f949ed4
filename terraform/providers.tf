provider "aws" {
  region = var.aws_region

  default_tags {
    tags = var.tags
  }
}

# The New Relic objects (modules/newrelic). The User API key comes from NEW_RELIC_API_KEY in
# the environment, never from a file; account and region from the environment file.
provider "newrelic" {
  account_id = var.monitoring.new_relic_account_id == "" ? null : tonumber(var.monitoring.new_relic_account_id)
  region     = var.monitoring.new_relic_region
}
