# A customer-managed KMS key with rotation, whose key policy hands its use to the account's
# IAM policies (each role names the key it needs) and, optionally, lets CloudWatch Logs
# encrypt the account's log groups with it.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
}

data "aws_iam_policy_document" "this" {
  # checkov:skip=CKV_AWS_109: a key policy's "*" resource is the key itself, and the account root principal hands control to IAM policies (AWS's default key policy)
  # checkov:skip=CKV_AWS_111: a key policy's "*" resource is the key itself; writes are limited to this key
  # checkov:skip=CKV_AWS_356: a key policy's "*" resource is the key itself, not every resource
  statement {
    sid = "AccountAdministersAndDelegatesToIam"
    actions = [
      "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
      "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
      "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
      "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
    ]
    # AWS requires "*" in a key policy: it means "this key".
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  dynamic "statement" {
    for_each = var.cloudwatch_logs_region == "" ? [] : [var.cloudwatch_logs_region]
    content {
      sid     = "CloudWatchLogsEncryptsThisAccountsLogGroups"
      actions = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
      # AWS requires "*" in a key policy: it means "this key".
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["logs.${statement.value}.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:${local.partition}:logs:${statement.value}:${local.account_id}:log-group:*"]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.this.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias_name}"
  target_key_id = aws_kms_key.this.key_id
}
