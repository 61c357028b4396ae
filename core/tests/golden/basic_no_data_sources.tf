data "aws_iam_policy_document" "leastpriv" {
  statement {
    sid    = "DynamodbABECD460"
    effect = "Allow"
    actions = [
      "dynamodb:GetItem",
    ]
    resources = [
      "arn:${data.aws_partition.current.partition}:dynamodb:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:table/orders",
    ]
  }

  statement {
    sid    = "Dynamodb66B17F79"
    effect = "Allow"
    actions = [
      "dynamodb:Query",
    ]
    resources = [
      "arn:${data.aws_partition.current.partition}:dynamodb:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:table/orders/index/by-customer",
    ]
  }

  statement {
    sid    = "S3D5AC5079"
    effect = "Allow"
    actions = [
      "s3:GetObject",
    ]
    resources = [
      "arn:${data.aws_partition.current.partition}:s3:::redefine-test/*",
    ]
  }

  statement {
    sid    = "S3250A2B59"
    effect = "Allow"
    actions = [
      "s3:ListBucket",
    ]
    resources = [
      "arn:${data.aws_partition.current.partition}:s3:::redefine-test",
    ]
  }

  statement {
    sid    = "S367324D6C"
    effect = "Allow"
    actions = [
      "s3:PutObject",
    ]
    resources = [
      "arn:${data.aws_partition.current.partition}:s3:::uploads/in/odd&{*}name&{?}.bin",
    ]
  }

  statement {
    sid    = "Sqs47292E48"
    effect = "Allow"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]
    resources = [
      "arn:aws:sqs:eu-west-1:123456789012:orders",
    ]
  }
}
