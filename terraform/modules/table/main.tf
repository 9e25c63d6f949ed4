# The events table: partition key event_id, the by-type GSI on (type, produced_at) with
# every attribute projected, KMS encryption, point-in-time recovery, TTL and optional
# target-tracking autoscaling of the table and the index.

locals {
  # The key attributes: event_id (table), type and produced_at (the GSI's hash and range).
  key_attributes = { event_id = "S", type = "S", produced_at = "N" }

  provisioned = var.billing_mode == "PROVISIONED"
  autoscaled  = local.provisioned && var.autoscaling.enabled

  # The table is one of two resources: Terraform's ignore_changes cannot be conditional,
  # and an autoscaled table must ignore the capacities that autoscaling moves.
  table = local.autoscaled ? aws_dynamodb_table.autoscaled[0] : aws_dynamodb_table.this[0]

  scaled_targets = local.autoscaled ? {
    table_read = {
      resource_id = "table/${var.name}"
      dimension   = "dynamodb:table:ReadCapacityUnits"
      minimum     = var.read_capacity
      maximum     = var.autoscaling.max_read_capacity
      metric      = "DynamoDBReadCapacityUtilization"
    }
    table_write = {
      resource_id = "table/${var.name}"
      dimension   = "dynamodb:table:WriteCapacityUnits"
      minimum     = var.write_capacity
      maximum     = var.autoscaling.max_write_capacity
      metric      = "DynamoDBWriteCapacityUtilization"
    }
    index_read = {
      resource_id = "table/${var.name}/index/${var.type_index.name}"
      dimension   = "dynamodb:index:ReadCapacityUnits"
      minimum     = var.type_index.read_capacity
      maximum     = var.autoscaling.max_read_capacity
      metric      = "DynamoDBReadCapacityUtilization"
    }
    index_write = {
      resource_id = "table/${var.name}/index/${var.type_index.name}"
      dimension   = "dynamodb:index:WriteCapacityUnits"
      minimum     = var.type_index.write_capacity
      maximum     = var.autoscaling.max_write_capacity
      metric      = "DynamoDBWriteCapacityUtilization"
    }
  } : {}
}

resource "aws_dynamodb_table" "this" {
  # checkov:skip=CKV2_AWS_16: this is the variant without autoscaling by design (PAY_PER_REQUEST, or fixed capacity the environment file asks for); autoscaled tables are aws_dynamodb_table.autoscaled
  count = local.autoscaled ? 0 : 1

  name           = var.name
  billing_mode   = var.billing_mode
  read_capacity  = local.provisioned ? var.read_capacity : null
  write_capacity = local.provisioned ? var.write_capacity : null
  hash_key       = "event_id"

  # Production tables refuse DeleteTable (and `terraform destroy`) until this is turned off.
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = local.key_attributes
    content {
      name = attribute.key
      type = attribute.value
    }
  }

  global_secondary_index {
    name            = var.type_index.name
    hash_key        = "type"
    range_key       = "produced_at"
    projection_type = "ALL"
    read_capacity   = local.provisioned ? var.type_index.read_capacity : null
    write_capacity  = local.provisioned ? var.type_index.write_capacity : null
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  ttl {
    enabled        = true
    attribute_name = var.ttl_attribute_name
  }

  tags = var.tags
}

resource "aws_dynamodb_table" "autoscaled" {
  count = local.autoscaled ? 1 : 0

  name           = var.name
  billing_mode   = var.billing_mode
  read_capacity  = var.read_capacity
  write_capacity = var.write_capacity
  hash_key       = "event_id"

  # Production tables refuse DeleteTable (and `terraform destroy`) until this is turned off.
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = local.key_attributes
    content {
      name = attribute.key
      type = attribute.value
    }
  }

  global_secondary_index {
    name            = var.type_index.name
    hash_key        = "type"
    range_key       = "produced_at"
    projection_type = "ALL"
    read_capacity   = var.type_index.read_capacity
    write_capacity  = var.type_index.write_capacity
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  ttl {
    enabled        = true
    attribute_name = var.ttl_attribute_name
  }

  tags = var.tags

  lifecycle {
    # Autoscaling owns the capacities once the table exists; the GSI block is ignored whole
    # because Terraform cannot ignore one attribute of a set element.
    ignore_changes = [read_capacity, write_capacity, global_secondary_index]
  }
}

resource "aws_appautoscaling_target" "this" {
  for_each = local.scaled_targets

  service_namespace  = "dynamodb"
  resource_id        = each.value.resource_id
  scalable_dimension = each.value.dimension
  min_capacity       = each.value.minimum
  max_capacity       = each.value.maximum

  depends_on = [aws_dynamodb_table.autoscaled]
}

resource "aws_appautoscaling_policy" "this" {
  for_each = local.scaled_targets

  name               = "${var.name}-${replace(each.key, "_", "-")}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.this[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.this[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.autoscaling.target_utilization

    predefined_metric_specification {
      predefined_metric_type = each.value.metric
    }
  }
}
