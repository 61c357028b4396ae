data "aws_iam_policy_document" "billing" {
  statement {
    sid    = "DynamodbE614091D"
    effect = "Allow"
    actions = [
      "dynamodb:GetItem",
    ]
    resources = [
      "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
    ]
  }

  statement {
    sid    = "S326EF14A9"
    effect = "Allow"
    actions = [
      "s3:GetObject",
    ]
    resources = [
      "arn:aws:s3:::redefine-test/reports/2024/a.csv",
    ]
  }

  statement {
    sid    = "S36F41F9F8"
    effect = "Allow"
    actions = [
      "s3:ListBucket",
    ]
    resources = [
      "arn:aws:s3:::redefine-test",
    ]
  }

  statement {
    sid    = "Sqs47292E48"
    effect = "Allow"
    actions = [
      "sqs:SendMessage",
    ]
    resources = [
      "arn:aws:sqs:eu-west-1:123456789012:orders",
    ]
  }
}

data "aws_iam_policy_document" "orders_api_1de9ead6" {
  statement {
    sid    = "DynamodbE8DB5E85"
    effect = "Allow"
    actions = [
      "dynamodb:Query",
    ]
    resources = [
      "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/index/by-customer",
    ]
  }

  statement {
    sid    = "S321A20420"
    effect = "Allow"
    actions = [
      "s3:GetObject",
    ]
    resources = [
      "arn:aws:s3:::redefine-test/*",
    ]
  }

  statement {
    sid    = "S314845AD4"
    effect = "Allow"
    actions = [
      "s3:PutObject",
    ]
    resources = [
      "arn:aws:s3:::uploads/in/odd&{*}name&{?}.bin",
    ]
  }

  statement {
    sid    = "Sqs47292E48"
    effect = "Allow"
    actions = [
      "sqs:ReceiveMessage",
    ]
    resources = [
      "arn:aws:sqs:eu-west-1:123456789012:orders",
    ]
  }
}
