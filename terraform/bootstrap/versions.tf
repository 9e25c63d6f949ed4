terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80, < 7.0"
    }
  }

  # The bootstrap's own state is local (terraform/bootstrap/terraform.tfstate, git-ignored):
  # it only holds the state bucket, which cannot store the state that creates it.
}
