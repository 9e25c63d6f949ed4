terraform {
  # use_lockfile (S3-native state locking) is GA from Terraform 1.11.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80, < 7.0"
    }
    newrelic = {
      source  = "newrelic/newrelic"
      version = "~> 3.50"
    }
  }

  # Partial configuration: `terraform init -backend-config=environments/<env>.s3.tfbackend
  # -backend-config=bucket=<state bucket from bootstrap/>` (see docs/deploy.md).
  backend "s3" {}
}
