data "aws_iam_policy_document" "leastpriv" {
  source_policy_documents = [
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"S35CAE222B\",\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::shared-assets/logo&{x}.png\",\"${aws_s3_bucket.orders.arn}/invoices/2024/b.pdf\"]}]}",
  ]

  statement {
    sid    = "DynamodbF7308DCF"
    effect = "Allow"
    actions = [
      "dynamodb:PutItem",
    ]
    resources = [
      "arn:aws:dynamodb:eu-west-1:210987654321:table/${var.orders_table}",
    ]
  }

  statement {
    sid    = "Dynamodb1A53F20B"
    effect = "Allow"
    actions = [
      "dynamodb:Query",
    ]
    resources = [
      "arn:aws:dynamodb:eu-west-1:210987654321:table/${var.orders_table}/index/by-customer",
    ]
  }

  statement {
    sid    = "KmsC97F5772"
    effect = "Allow"
    actions = [
      "kms:Encrypt",
    ]
    resources = [
      "arn:aws:kms:eu-west-1:210987654321:key/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "kms:RequestAlias"
      values   = ["alias/orders"]
    }
  }

  statement {
    sid    = "S359CD8917"
    effect = "Allow"
    actions = [
      "s3:ListBucket",
    ]
    resources = [
      "${aws_s3_bucket.orders.arn}",
    ]
  }

  statement {
    sid    = "S37ECE5943"
    effect = "Allow"
    actions = [
      "s3:PutObject",
    ]
    resources = [
      "${aws_s3_bucket.orders.arn}/invoices/2024/a.pdf",
    ]
  }

  statement {
    sid    = "Sqs63AB370B"
    effect = "Allow"
    actions = [
      "sqs:SendMessage",
    ]
    resources = [
      "arn:aws:sqs:eu-west-1:210987654321:${module.queues.names["jobs"]}",
    ]
  }
}
