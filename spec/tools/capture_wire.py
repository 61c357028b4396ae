#!/usr/bin/env python3
"""Capture spec/vectors/wire/boto3.json: raw HTTP requests as boto3 sends them, for the wire decoder.

Every vector is real botocore output, never typed by hand: each case below calls a boto3 client
(fake credentials, no network) whose `before-send` handler records the prepared request and
answers with a fake empty 200 response, so nothing leaves the machine. The recorded request is
then written out as HTTP/1.1 bytes by botocore's own connection class (the urllib3 connection
botocore sends with, talking to a fake socket), so the text is what would go on the wire: the
request line with the path and query exactly as botocore built them, `Host`, the headers
http.client and urllib3 add (`Accept-Encoding: identity`, `Content-Length: 0` on an empty POST),
every header botocore set, in order, a blank line, then the body.

Run from the repository root, with boto3 and botocore at the pin (after spec/tools/gen_wire.py,
whose spec/wire.json it reads for the shared-signing notes and its checks):

    .venv/bin/python spec/tools/capture_wire.py [--out PATH]   # default spec/vectors/wire/boto3.json

It re-executes itself with PYTHONHASHSEED=0 (see fixed_hash_seed).

Rerunning gives identical bytes: the signing clock is frozen (botocore.auth's
get_current_datetime), uuid4 (invocation ids, idempotency tokens) is derived from the vector
name, the User-Agent's platform part is fixed (FIXED_PLATFORM below; botocore's own code builds
the rest of it), and AWS_* variables and config files are ignored. The signatures are real
SigV4 signatures over the frozen time and the fake keys.

Each vector:

- `request`: the HTTP/1.1 request text; when the body is not valid UTF-8 (CBOR) it stops after
  the blank line and `body` holds the body in base64, with `body_base64: true`;
- `protocol`: the protocol botocore used; `protocol_forced: true` when the case made botocore
  use another of the model's protocols than the one it picks (botocore always takes the first
  of json, rest-json, rest-xml, smithy-rpc-v2-cbor, query, ec2 that the model lists; other SDKs
  pick differently, e.g. CloudWatch's cbor or query);
- `expect.service` (botocore's service name), `expect.operation`, `expect.region` (the SigV4
  signing region botocore used, us-east-1 for the global endpoints of IAM, Route 53 and
  CloudFront; for a request without a credential scope, the client's region when the host
  names it, else null: a SigV2 presigned S3 URL on BUCKET.s3.amazonaws.com carries none),
  `expect.params` (the parameters passed to the client call; bytes as UTF-8 text);
- `expect.sdk_params`, when botocore added members on its own: idempotency tokens and
  checksum mode filled in before serialization (their values), and header members it set while
  building the request (the header's value as sent, e.g. `ContentLength`, the flexible-checksum
  `ChecksumAlgorithm` and `ChecksumCRC32`);
- `expect.payload`, when the operation's body is one blob/string member (the decoder may skip
  checking it; it is in `params` all the same);
- `expect.ambiguous_with`, the other services whose requests for this operation look the same
  on the wire (same signing name, endpoint prefix, protocol and target/version, and an operation of
  the same name with the same method and URI): nothing in the request tells them apart.

Scalars in query, ec2, URI, query-string and header locations are text on the wire (`MinCount=1`,
`WithDecryption` as JSON true but `DurationSeconds=900` in a form): `params` keeps the values
passed (numbers, booleans), so a decoder without member types compares their text.
"""

import base64
import calendar
import datetime
import email.utils
import hashlib
import json
import os
import re
import socket
import sys
import types
import uuid
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_catalog import BOTOCORE

OUT = os.path.join("spec", "vectors", "wire", "boto3.json")
WIRE = os.path.join("spec", "wire.json")
REGION = "eu-west-1"
ACCOUNT = "123456789012"
FROZEN = datetime.datetime(2026, 1, 15, 12, 0, 0)
FIXED_PLATFORM = {"platform_name": "Linux", "platform_version": "6.1.0",
                  "platform_machine": "x86_64", "python_version": "3.11.7",
                  "python_implementation": "CPython", "execution_env": None, "crt_version": None}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
               "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}


def fixed_hash_seed():
    """botocore lists the User-Agent's feature ids (`m/...`) from a set: their order follows
    Python's string hashing, so run with a fixed hash seed."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)


def isolate_environment():
    for k in list(os.environ):
        if k.startswith(("AWS_", "BOTO_")):
            del os.environ[k]
    os.environ.update(CREDENTIALS)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


if __name__ == "__main__":
    fixed_hash_seed()
isolate_environment()

import boto3
import botocore
import botocore.auth
import botocore.awsrequest
import botocore.httpsession
import botocore.model
import botocore.useragent
import gen_wire
from botocore.config import Config

# ---------------------------------------------------------------------------------------------
# Determinism


class _Uuids:
    """uuid4 replaced by uuids derived from the vector name and a counter."""

    def __init__(self):
        self.seed, self.n = "", 0

    def reset(self, seed):
        self.seed, self.n = seed, 0

    def __call__(self):
        self.n += 1
        digest = hashlib.sha256(f"{self.seed}/{self.n}".encode()).digest()[:16]
        return uuid.UUID(bytes=digest, version=4)


UUIDS = _Uuids()
uuid.uuid4 = UUIDS
botocore.auth.get_current_datetime = lambda remove_tzinfo=True: FROZEN
# SigV2 (S3 query-string presigning, `Expires`) and `Date` headers read the clock directly.
FROZEN_EPOCH = calendar.timegm(FROZEN.timetuple())
botocore.auth.time = types.SimpleNamespace(time=lambda: FROZEN_EPOCH)
botocore.auth.formatdate = lambda timeval=None, localtime=False, usegmt=False: \
    email.utils.formatdate(FROZEN_EPOCH if timeval is None else timeval, localtime, usegmt)
botocore.useragent.UserAgentString.from_environment = classmethod(
    lambda cls: cls(**FIXED_PLATFORM))

# Forcing another of a model's protocols (FORCED[service] = protocol), for the SDKs that pick
# differently from botocore.
FORCED = {}
_resolved = botocore.model.ServiceModel.__dict__["resolved_protocol"]


def _resolved_protocol(self):
    forced = FORCED.get(self.service_name)
    if forced:
        if forced not in (self.metadata.get("protocols") or []):
            sys.exit(f"{self.service_name} does not list {forced}")
        return forced
    return _resolved.__get__(self, type(self))


botocore.model.ServiceModel.resolved_protocol = property(_resolved_protocol)


# ---------------------------------------------------------------------------------------------
# Cases: (name, service, operation, params, options, description)
#
# options: region, s3 (Config s3 dict), force (protocol), presign (ExpiresIn), signature_version,
# account_id (credentials that know their account, as from SSO or AssumeRole: DynamoDB then
# uses its account-based endpoint).

def case(name, service, operation, params, description, **options):
    return {"name": name, "service": service, "operation": operation, "params": params,
            "description": description, "options": options}


QUEUE = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-role"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
DIMS = [{"Name": "Service", "Value": "checkout"}, {"Name": "Stage", "Value": "prod"}]
METRIC = {"Namespace": "App/Orders",
          "MetricData": [{"MetricName": "Placed", "Dimensions": DIMS, "Value": 3.0,
                          "Unit": "Count"}]}

CASES = [
    # --- awsJson 1.0 -----------------------------------------------------------------------
    case("wire-dynamodb-putitem-json", "dynamodb", "PutItem",
         {"TableName": "orders",
          "Item": {"pk": {"S": "order#1"}, "qty": {"N": "3"}, "gift": {"BOOL": True}},
          "ConditionExpression": "attribute_not_exists(pk)"},
         "awsJson 1.0: X-Amz-Target DynamoDB_20120810.PutItem, the parameters in the JSON body"),
    case("wire-dynamodb-getitem-json", "dynamodb", "GetItem",
         {"TableName": "orders", "Key": {"pk": {"S": "order#1"}}, "ConsistentRead": True,
          "ProjectionExpression": "pk, qty"},
         "awsJson 1.0 GetItem"),
    case("wire-dynamodb-query-index-json", "dynamodb", "Query",
         {"TableName": "orders", "IndexName": "by-customer",
          "KeyConditionExpression": "customer = :c",
          "ExpressionAttributeValues": {":c": {"S": "c-42"}}, "Limit": 25},
         "awsJson 1.0 Query on a secondary index (IndexName is in the body)"),
    case("wire-dynamodb-getitem-accountendpoint-json", "dynamodb", "GetItem",
         {"TableName": "orders", "Key": {"pk": {"S": "order#2"}}},
         "awsJson 1.0 GetItem with credentials that carry their account id (as from SSO or "
         "AssumeRole): botocore then uses DynamoDB's account-based endpoint, host "
         "ACCOUNT.ddb.REGION, not the endpoint prefix dynamodb", account_id=True),
    case("wire-sqs-sendmessage-json", "sqs", "SendMessage",
         {"QueueUrl": QUEUE, "MessageBody": "hello",
          "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "order"}}},
         "awsJson 1.0 (SQS left the query protocol; its model lists json only and is "
         "awsQueryCompatible, so botocore also sends x-amzn-query-mode: true)"),
    case("wire-sqs-receivemessage-json", "sqs", "ReceiveMessage",
         {"QueueUrl": QUEUE, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 20,
          "MessageAttributeNames": ["All"]},
         "awsJson 1.0 SQS ReceiveMessage with a list member"),
    case("wire-sqs-createqueue-json", "sqs", "CreateQueue",
         {"QueueName": "orders-dlq", "Attributes": {"VisibilityTimeout": "60"},
          "tags": {"team": "core"}},
         "awsJson 1.0 SQS CreateQueue with map members (one, `tags`, in lower case)"),
    case("wire-stepfunctions-startexecution-json", "stepfunctions", "StartExecution",
         {"stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:checkout",
          "name": "run-1", "input": "{\"order\": 1}"},
         "awsJson 1.0: X-Amz-Target AWSStepFunctions.StartExecution, signing name states"),
    case("wire-cloudwatch-putmetricdata-json", "cloudwatch", "PutMetricData", METRIC,
         "CloudWatch lists smithy-rpc-v2-cbor, json and query; botocore picks json (awsJson "
         "1.0, X-Amz-Target GraniteServiceVersion20100801.PutMetricData) and, as the model is "
         "awsQueryCompatible, sends x-amzn-query-mode: true; host monitoring.REGION"),
    case("wire-cloudwatch-putmetricdata-query", "cloudwatch", "PutMetricData", METRIC,
         "CloudWatch over the query protocol, which SDKs used before the model listed json "
         "and cbor (botocore made to use it): MetricData.member.1.Dimensions.member.N.Name, "
         "Version=2010-08-01",
         force="query"),
    case("wire-cloudwatch-putmetricdata-cbor", "cloudwatch", "PutMetricData", METRIC,
         "CloudWatch over smithy-rpc-v2-cbor, the model's first protocol, as an SDK that picks "
         "it sends it (botocore made to use it): path /service/GraniteServiceVersion20100801/"
         "operation/PutMetricData, smithy-protocol: rpc-v2-cbor, x-amzn-query-mode: true, "
         "CBOR body",
         force="smithy-rpc-v2-cbor"),
    case("wire-cloudwatch-describealarms-query", "cloudwatch", "DescribeAlarms",
         {"AlarmNames": ["high-cpu", "low-disk"], "StateValue": "ALARM"},
         "CloudWatch query protocol: a list as AlarmNames.member.N", force="query"),
    case("wire-cloudwatch-listmetrics-cbor", "cloudwatch", "ListMetrics",
         {"Namespace": "App/Orders", "Dimensions": [{"Name": "Service", "Value": "checkout"}]},
         "CloudWatch over smithy-rpc-v2-cbor with a nested list", force="smithy-rpc-v2-cbor"),
    # --- awsJson 1.1 -----------------------------------------------------------------------
    case("wire-kms-decrypt-json", "kms", "Decrypt",
         {"CiphertextBlob": b"ciphertext-bytes", "KeyId": "alias/app"},
         "awsJson 1.1: X-Amz-Target TrentService.Decrypt; the blob is base64 in the body"),
    case("wire-kms-encrypt-json", "kms", "Encrypt",
         {"KeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
          "Plaintext": b"secret", "EncryptionContext": {"purpose": "test"}},
         "awsJson 1.1 KMS Encrypt with a key ARN and an encryption context"),
    case("wire-secretsmanager-getsecretvalue-json", "secretsmanager", "GetSecretValue",
         {"SecretId": "prod/db", "VersionStage": "AWSCURRENT"},
         "awsJson 1.1: X-Amz-Target secretsmanager.GetSecretValue"),
    case("wire-logs-putlogevents-json", "logs", "PutLogEvents",
         {"logGroupName": "/app/web", "logStreamName": "i-0123456789abcdef0",
          "logEvents": [{"timestamp": 1768478400000, "message": "hello"}]},
         "awsJson 1.1: X-Amz-Target Logs_20140328.PutLogEvents"),
    case("wire-ssm-getparameter-json", "ssm", "GetParameter",
         {"Name": "/app/db/password", "WithDecryption": True},
         "awsJson 1.1: X-Amz-Target AmazonSSM.GetParameter"),
    case("wire-ecr-describerepositories-json", "ecr", "DescribeRepositories",
         {"repositoryNames": ["app"]},
         "awsJson 1.1 on host api.ecr.REGION (endpoint prefix api.ecr, signing name ecr)"),
    case("wire-kinesis-putrecord-json", "kinesis", "PutRecord",
         {"StreamName": "clicks", "Data": b"payload", "PartitionKey": "user-1"},
         "awsJson 1.1 Kinesis PutRecord; Data is base64 in the body"),
    case("wire-events-putevents-json", "events", "PutEvents",
         {"Entries": [{"Source": "app.orders", "DetailType": "OrderPlaced",
                       "Detail": "{\"id\": 1}", "EventBusName": "default"}]},
         "awsJson 1.1: X-Amz-Target AWSEvents.PutEvents, host events.REGION"),
    case("wire-codebuild-startbuild-json", "codebuild", "StartBuild",
         {"projectName": "app-build", "sourceVersion": "main"},
         "CodeBuild lists smithy-rpc-v2-cbor then json; botocore picks json (awsJson 1.1, "
         "X-Amz-Target CodeBuild_20161006.StartBuild)"),
    case("wire-cognito-identity-getid-unsigned", "cognito-identity", "GetId",
         {"IdentityPoolId": f"{REGION}:11111111-2222-3333-4444-555555555555",
          "AccountId": ACCOUNT},
         "an unsigned request (the model gives GetId no auth): no Authorization header, the "
         "service comes from X-Amz-Target AWSCognitoIdentityService.GetId and the region from "
         "the host"),
    # --- query -----------------------------------------------------------------------------
    case("wire-sns-publish-query", "sns", "Publish",
         {"TopicArn": TOPIC, "Message": "disk full", "Subject": "alert",
          "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "ops"}}},
         "query protocol: Action=Publish&Version=2010-03-31 in a form body; a map as "
         "MessageAttributes.entry.N.Name / .Value.DataType"),
    case("wire-sts-assumerole-query", "sts", "AssumeRole",
         {"RoleArn": ROLE, "RoleSessionName": "ci", "DurationSeconds": 900,
          "Tags": [{"Key": "team", "Value": "core"}]},
         "query protocol on the regional STS endpoint; a list of structures as "
         "Tags.member.N.Key"),
    case("wire-sts-getcalleridentity-query", "sts", "GetCallerIdentity", {},
         "query protocol with no parameters: the body is only Action and Version"),
    case("wire-sts-assumerolewithwebidentity-unsigned", "sts", "AssumeRoleWithWebIdentity",
         {"RoleArn": ROLE, "RoleSessionName": "web",
          "WebIdentityToken": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"},
         "an unsigned query request (botocore does not sign AssumeRoleWithWebIdentity): no "
         "Authorization header; the service comes from the host sts.REGION and the Version"),
    case("wire-iam-getrole-query", "iam", "GetRole", {"RoleName": "app-role"},
         "query protocol on the global endpoint iam.amazonaws.com, signed for us-east-1"),
    case("wire-iam-createpolicy-query", "iam", "CreatePolicy",
         {"PolicyName": "read-orders",
          "PolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": [
              {"Effect": "Allow", "Action": "s3:GetObject",
               "Resource": "arn:aws:s3:::orders/*"}]})},
         "query protocol with a JSON policy document percent-encoded in the form body"),
    case("wire-cloudformation-describestacks-query", "cloudformation", "DescribeStacks",
         {"StackName": "app"}, "query protocol: Action=DescribeStacks&Version=2010-05-15"),
    case("wire-cloudformation-createstack-query", "cloudformation", "CreateStack",
         {"StackName": "app", "TemplateURL": "https://s3.amazonaws.com/templates/app.yaml",
          "Parameters": [{"ParameterKey": "Env", "ParameterValue": "prod"}],
          "Capabilities": ["CAPABILITY_IAM"]},
         "query protocol with lists: Parameters.member.1.ParameterKey, Capabilities.member.1"),
    case("wire-elb-describeloadbalancers-query", "elb", "DescribeLoadBalancers",
         {"LoadBalancerNames": ["classic-lb"]},
         "Classic ELB (query, Version=2012-06-01)"),
    case("wire-elbv2-describeloadbalancers-query", "elbv2", "DescribeLoadBalancers",
         {"Names": ["app-lb"]},
         "ELB v2 (query, Version=2015-12-01)"),
    case("wire-rds-describedbclusters-query", "rds", "DescribeDBClusters",
         {"DBClusterIdentifier": "cluster-1"}, "RDS (query, Version=2014-10-31)"),
    case("wire-docdb-describedbclusters-query", "docdb", "DescribeDBClusters",
         {"DBClusterIdentifier": "cluster-1"}, "Amazon DocumentDB (query, Version=2014-10-31)"),
    case("wire-neptune-describedbclusters-query", "neptune", "DescribeDBClusters",
         {"DBClusterIdentifier": "cluster-1"}, "Amazon Neptune (query, Version=2014-10-31)"),
    # --- ec2 -------------------------------------------------------------------------------
    case("wire-ec2-describeinstances-ec2", "ec2", "DescribeInstances",
         {"InstanceIds": ["i-0123456789abcdef0", "i-0fedcba9876543210"],
          "Filters": [{"Name": "instance-state-name", "Values": ["running"]}]},
         "ec2 protocol: InstanceIds as InstanceId.N (the member's locationName), Filters as "
         "Filter.1.Name and Filter.1.Value.1"),
    case("wire-ec2-runinstances-ec2", "ec2", "RunInstances",
         {"ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro", "MinCount": 1,
          "MaxCount": 1, "SubnetId": "subnet-0123456789abcdef0",
          "ClientToken": "run-1",
          "TagSpecifications": [{"ResourceType": "instance",
                                 "Tags": [{"Key": "Name", "Value": "web"}]}]},
         "ec2 protocol: nested names differ too (TagSpecification.1.Tag.1.Key)"),
    case("wire-ec2-terminateinstances-ec2", "ec2", "TerminateInstances",
         {"InstanceIds": ["i-0123456789abcdef0"]},
         "ec2 protocol: InstanceId.1"),
    case("wire-ec2-describesecuritygroups-ec2", "ec2", "DescribeSecurityGroups",
         {"GroupIds": ["sg-0123456789abcdef0"], "DryRun": True},
         "ec2 protocol: GroupIds as GroupId.N, a boolean as DryRun=true"),
    # --- rest-json -------------------------------------------------------------------------
    case("wire-lambda-invoke-qualifier-restjson", "lambda", "Invoke",
         {"FunctionName": "my-fn", "Qualifier": "live", "InvocationType": "RequestResponse",
          "Payload": b"{\"k\": \"v\"}"},
         "rest-json: POST /2015-03-31/functions/{FunctionName}/invocations?Qualifier=..., "
         "InvocationType in X-Amz-Invocation-Type, the Payload member is the body"),
    case("wire-lambda-invoke-arn-restjson", "lambda", "Invoke",
         {"FunctionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:my-fn",
          "InvocationType": "Event", "Payload": b"{}"},
         "rest-json with a function ARN in the URI label (its colons percent-encoded)"),
    case("wire-lambda-getfunction-restjson", "lambda", "GetFunction",
         {"FunctionName": "my-fn", "Qualifier": "3"},
         "rest-json: GET /2015-03-31/functions/{FunctionName}?Qualifier=3"),
    case("wire-lambda-listfunctions-restjson", "lambda", "ListFunctions", {"MaxItems": 10},
         "rest-json: GET /2015-03-31/functions?MaxItems=10"),
    case("wire-apigateway-getrestapi-restjson", "apigateway", "GetRestApi",
         {"restApiId": "a1b2c3d4e5"},
         "API Gateway v1: GET /restapis/{restapi_id} (the label is the locationName)"),
    case("wire-apigateway-getresources-restjson", "apigateway", "GetResources",
         {"restApiId": "a1b2c3d4e5", "embed": ["methods"], "limit": 50},
         "API Gateway v1 with a list query parameter"),
    case("wire-apigatewayv2-getapi-restjson", "apigatewayv2", "GetApi",
         {"ApiId": "a1b2c3d4e5"}, "API Gateway v2: GET /v2/apis/{apiId}"),
    case("wire-eks-describecluster-restjson", "eks", "DescribeCluster", {"name": "prod"},
         "rest-json: GET /clusters/{name}"),
    case("wire-eks-listnodegroups-restjson", "eks", "ListNodegroups",
         {"clusterName": "prod", "maxResults": 20},
         "rest-json: GET /clusters/{name}/node-groups?maxResults=20 (member clusterName, "
         "URI label name)"),
    case("wire-bedrock-runtime-invokemodel-restjson", "bedrock-runtime", "InvokeModel",
         {"modelId": "anthropic.claude-3-haiku-20240307-v1:0",
          "body": b"{\"prompt\": \"hi\"}", "contentType": "application/json",
          "accept": "application/json"},
         "rest-json: POST /model/{modelId}/invoke on host bedrock-runtime.REGION; the body "
         "member is the raw body"),
    case("wire-bedrock-getfoundationmodel-restjson", "bedrock", "GetFoundationModel",
         {"modelIdentifier": "anthropic.claude-3-haiku-20240307-v1:0"},
         "rest-json: GET /foundation-models/{modelIdentifier} on host bedrock.REGION"),
    case("wire-s3control-getpublicaccessblock-restxml", "s3control", "GetPublicAccessBlock",
         {"AccountId": ACCOUNT},
         "rest-xml with an endpoint host prefix: host ACCOUNT.s3-control.REGION (hostPrefix "
         "{AccountId}.), AccountId also in x-amz-account-id; signing name s3"),
    case("wire-s3control-listaccesspoints-restxml", "s3control", "ListAccessPoints",
         {"AccountId": ACCOUNT, "Bucket": "orders", "MaxResults": 5},
         "S3 Control rest-xml with query parameters"),
    case("wire-sagemaker-runtime-invokeendpoint-restjson", "sagemaker-runtime",
         "InvokeEndpoint",
         {"EndpointName": "churn", "Body": b"{\"x\": 1}", "ContentType": "application/json"},
         "rest-json on host runtime.sagemaker.REGION"),
    case("wire-sagemaker-describeendpoint-json", "sagemaker", "DescribeEndpoint",
         {"EndpointName": "churn"},
         "awsJson 1.1 on host api.sagemaker.REGION (X-Amz-Target SageMaker.DescribeEndpoint)"),
    case("wire-es-listdomainnames-restjson", "es", "ListDomainNames", {"EngineType": "OpenSearch"},
         "Elasticsearch Service API: GET /2015-01-01/domain"),
    case("wire-opensearch-listdomainnames-restjson", "opensearch", "ListDomainNames",
         {"EngineType": "OpenSearch"}, "OpenSearch Service API: GET /2021-01-01/domain"),
    case("wire-dynamodbstreams-describestream-json", "dynamodbstreams", "DescribeStream",
         {"StreamArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/stream/"
                       "2026-01-01T00:00:00.000", "Limit": 10},
         "awsJson 1.0: X-Amz-Target DynamoDBStreams_20120810.DescribeStream; the endpoint "
         "rules take the account from the StreamArn, so the host is ACCOUNT.streams-ddb.REGION "
         "(the model's endpoint prefix is streams.dynamodb)"),
    case("wire-kinesisanalyticsv2-describeapplication-json", "kinesisanalyticsv2",
         "DescribeApplication", {"ApplicationName": "clicks"},
         "awsJson 1.1: X-Amz-Target KinesisAnalytics_20180523.DescribeApplication"),
    case("wire-kinesisanalytics-describeapplication-json", "kinesisanalytics",
         "DescribeApplication", {"ApplicationName": "clicks"},
         "awsJson 1.1: X-Amz-Target KinesisAnalytics_20150814.DescribeApplication"),
    # --- rest-xml: S3 ----------------------------------------------------------------------
    case("wire-s3-getobject-versionid-virtual", "s3", "GetObject",
         {"Bucket": "orders", "Key": "2026/01/report.csv", "VersionId": "3HL4kqtJlcpXroDTDmJ"},
         "rest-xml, virtual-hosted style: the bucket is in the host (orders.s3.REGION), the "
         "path is the key, VersionId is the versionId query parameter; botocore asks for "
         "checksum validation (x-amz-checksum-mode: ENABLED)"),
    case("wire-s3-getobject-path", "s3", "GetObject",
         {"Bucket": "orders", "Key": "2026/01/report.csv", "Range": "bytes=0-99"},
         "rest-xml, path style: GET /orders/2026/01/report.csv on host s3.REGION; Range header",
         s3={"addressing_style": "path"}),
    case("wire-s3-getobject-encodedkey-virtual", "s3", "GetObject",
         {"Bucket": "orders", "Key": "photos/my file+\u00fc~.jpg"},
         "rest-xml: a key with a space, a plus sign and a non-ASCII letter, percent-encoded "
         "in the path (the slash kept)"),
    case("wire-s3-putobject-virtual", "s3", "PutObject",
         {"Bucket": "orders", "Key": "in/order-1.json", "Body": b"{\"id\": 1}",
          "ContentType": "application/json", "Metadata": {"source": "api"}},
         "rest-xml PutObject: Metadata as x-amz-meta-* headers; botocore sends the Body "
         "aws-chunked (Content-Encoding: aws-chunked, X-Amz-Decoded-Content-Length, "
         "X-Amz-Content-SHA256: STREAMING-UNSIGNED-PAYLOAD-TRAILER) with a CRC32 checksum in "
         "the trailer (X-Amz-Trailer), inside HTTP chunked transfer coding, after "
         "Expect: 100-continue: the decoder must undo both chunkings to get the Body"),
    case("wire-s3-putobject-path", "s3", "PutObject",
         {"Bucket": "orders", "Key": "in/order-2.txt", "Body": b"hello",
          "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/s3"},
         "rest-xml PutObject, path style, with SSE-KMS headers; the body is aws-chunked in "
         "HTTP chunks, as in wire-s3-putobject-virtual", s3={"addressing_style": "path"}),
    case("wire-s3-listobjectsv2-virtual", "s3", "ListObjectsV2",
         {"Bucket": "orders", "Prefix": "2026/", "MaxKeys": 100},
         "rest-xml: requestUri /{Bucket}?list-type=2 — the literal list-type=2 query parameter "
         "tells ListObjectsV2 from ListObjects; virtual-hosted style the path is /"),
    case("wire-s3-listobjectsv2-path", "s3", "ListObjectsV2",
         {"Bucket": "orders", "Prefix": "2026/", "Delimiter": "/"},
         "rest-xml ListObjectsV2, path style: the bucket is the first path segment, then the "
         "literal list-type=2 and the query parameters",
         s3={"addressing_style": "path"}),
    case("wire-s3-listobjects-virtual", "s3", "ListObjects",
         {"Bucket": "orders", "Prefix": "2026/"},
         "rest-xml ListObjects (v1): GET / with prefix and no list-type in the query"),
    case("wire-s3-copyobject-virtual", "s3", "CopyObject",
         {"Bucket": "orders", "Key": "copy/a.txt", "CopySource": "src-bucket/dir/a.txt",
          "MetadataDirective": "COPY"},
         "rest-xml CopyObject: a PUT like PutObject, told apart by the x-amz-copy-source header"),
    case("wire-s3-deleteobjects-virtual", "s3", "DeleteObjects",
         {"Bucket": "orders",
          "Delete": {"Objects": [{"Key": "a.txt"}, {"Key": "b.txt"}], "Quiet": True}},
         "rest-xml: POST /?delete with the Delete structure as the XML body"),
    case("wire-s3-headobject-virtual", "s3", "HeadObject",
         {"Bucket": "orders", "Key": "a.txt"}, "rest-xml: HEAD /a.txt"),
    case("wire-s3-createbucket-virtual", "s3", "CreateBucket",
         {"Bucket": "new-bucket-1",
          "CreateBucketConfiguration": {"LocationConstraint": REGION}},
         "rest-xml: PUT / on the bucket's host, CreateBucketConfiguration as the XML body"),
    case("wire-s3-createbucket-path", "s3", "CreateBucket",
         {"Bucket": "new-bucket-2",
          "CreateBucketConfiguration": {"LocationConstraint": REGION}},
         "rest-xml CreateBucket, path style: PUT /new-bucket-2", s3={"addressing_style": "path"}),
    case("wire-s3-createmultipartupload-virtual", "s3", "CreateMultipartUpload",
         {"Bucket": "orders", "Key": "big/file.bin"},
         "rest-xml: requestUri /{Bucket}/{Key+}?uploads — the bare uploads query key names "
         "the operation"),
    case("wire-s3-getbucketpolicy-virtual", "s3", "GetBucketPolicy", {"Bucket": "orders"},
         "rest-xml: GET /?policy (requestUri /{Bucket}?policy)"),
    case("wire-s3-listbuckets", "s3", "ListBuckets", {},
         "rest-xml: GET / on host s3.REGION, no bucket"),
    case("wire-s3-listdirectorybuckets", "s3", "ListDirectoryBuckets", {"MaxDirectoryBuckets": 10},
         "rest-xml: GET / like ListBuckets, but botocore sends it to the S3 Express control "
         "endpoint (host s3express-control.REGION), signed with the signing name s3express, "
         "not s3"),
    case("wire-s3-getobject-presigned-sigv2", "s3", "GetObject",
         {"Bucket": "orders", "Key": "2026/01/report.csv"},
         "a presigned URL as generate_presigned_url makes it by default, used as a GET with no "
         "Authorization header: botocore presigns S3 with SigV2 query authentication "
         "(AWSAccessKeyId, Signature, Expires in the query string) on the global host "
         "BUCKET.s3.amazonaws.com: no credential scope and no region in the host, so "
         "expect.region is null", presign=3600),
    case("wire-s3-getobject-presigned-sigv4-virtual", "s3", "GetObject",
         {"Bucket": "orders", "Key": "2026/01/report.csv", "VersionId": "3HL4kqtJlcpXroDTDmJ"},
         "a presigned URL with SigV4 (Config signature_version s3v4), virtual-hosted style, "
         "used as a GET with no Authorization header: X-Amz-Algorithm, X-Amz-Credential (the "
         "credential scope), X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and "
         "X-Amz-Signature in the query string", presign=3600, signature_version="s3v4",
         s3={"addressing_style": "virtual"}),
    case("wire-s3-getobject-presigned-sigv4-path", "s3", "GetObject",
         {"Bucket": "orders", "Key": "2026/01/report.csv"},
         "a SigV4 presigned URL, path style", presign=900, signature_version="s3v4",
         s3={"addressing_style": "path"}),
    case("wire-s3-putobject-presigned-sigv4-virtual", "s3", "PutObject",
         {"Bucket": "orders", "Key": "upload/file.bin"},
         "a SigV4 presigned PutObject URL used with no body and no headers but Host; the "
         "method is the one the URL was made for (PUT)", presign=600,
         signature_version="s3v4", s3={"addressing_style": "virtual"}),
    # --- rest-xml: Route 53, CloudFront ----------------------------------------------------
    case("wire-route53-changeresourcerecordsets-restxml", "route53", "ChangeResourceRecordSets",
         {"HostedZoneId": "Z0123456789ABCDEFGHIJ",
          "ChangeBatch": {"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
              "Name": "www.example.com.", "Type": "A", "TTL": 300,
              "ResourceRecords": [{"Value": "192.0.2.1"}]}}]}},
         "rest-xml: POST /2013-04-01/hostedzone/{Id}/rrset/ with an XML body; global endpoint "
         "route53.amazonaws.com signed for us-east-1"),
    case("wire-route53-listresourcerecordsets-restxml", "route53", "ListResourceRecordSets",
         {"HostedZoneId": "Z0123456789ABCDEFGHIJ", "StartRecordName": "www.example.com.",
          "MaxItems": "10"},
         "rest-xml: GET /2013-04-01/hostedzone/{Id}/rrset?name=...&maxitems=10"),
    case("wire-cloudfront-getdistribution-restxml", "cloudfront", "GetDistribution",
         {"Id": "E1ABCDEF2GHIJK"},
         "rest-xml: GET /2020-05-31/distribution/{Id}; global endpoint cloudfront.amazonaws.com "
         "signed for us-east-1"),
    case("wire-cloudfront-createinvalidation-restxml", "cloudfront", "CreateInvalidation",
         {"DistributionId": "E1ABCDEF2GHIJK",
          "InvalidationBatch": {"Paths": {"Quantity": 1, "Items": ["/index.html"]},
                                "CallerReference": "ref-1"}},
         "rest-xml: POST /2020-05-31/distribution/{DistributionId}/invalidation with the "
         "InvalidationBatch payload as the XML body"),
    # --- smithy-rpc-v2-cbor (botocore's choice) --------------------------------------------
    case("wire-eventbridgev2-describeeventbus-cbor", "eventbridgev2", "DescribeEventBus",
         {"EventBusArn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"},
         "smithy-rpc-v2-cbor, the only protocol of the model: POST /service/AWSEventsV2/"
         "operation/DescribeEventBus, CBOR body; the endpoint rules take the account from the "
         "EventBusArn, so the host is ACCOUNT.eventsv2.REGION"),
    case("wire-cloudwatchomni-listspaces-cbor", "cloudwatchomni", "ListSpaces",
         {"maxResults": 5},
         "smithy-rpc-v2-cbor, the only protocol of the model: POST /service/"
         "CloudWatchOmniFrontend/operation/ListSpaces; host cloudwatch-omni.REGION.api.aws "
         "(not amazonaws.com), signing name cloudwatch (CloudWatch itself signs as "
         "monitoring)"),
]


# ---------------------------------------------------------------------------------------------
# Capture


class FakeRaw:
    def stream(self, *_, **__):
        yield b""


def wire_bytes(request):
    """The request as botocore's connection writes it on the socket.

    The connection talks to one end of a local socket pair; the other end has a
    `100 Continue` waiting, which botocore reads when it sent `Expect: 100-continue` (S3
    PutObject) before it sends the body, as it does with S3."""
    u = urlsplit(request.url)
    if u.scheme != "https":
        sys.exit(f"{request.url}: not https")
    conn = botocore.awsrequest.AWSHTTPSConnection(u.hostname, u.port or 443)
    ours, theirs = socket.socketpair()
    try:
        theirs.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.sock = ours
        target = botocore.httpsession.URLLib3Session._path_url(None, request.url)
        body = request.body
        if hasattr(body, "seek"):
            body.seek(0)
        chunked = botocore.httpsession.URLLib3Session._chunked(None, request.headers)
        conn.request(request.method, target, body=body, headers=request.headers,
                     chunked=chunked, preload_content=False, decode_content=False,
                     enforce_content_length=False)
        ours.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = theirs.recv(65536)
            if not chunk:
                break
            data += chunk
        return data
    finally:
        ours.close()
        theirs.close()


def jsonable(v):
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, (datetime.datetime, datetime.date)):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def client_for(c):
    opts = c["options"]
    cfg = {"retries": {"max_attempts": 1}, "parameter_validation": True}
    if "s3" in opts:
        cfg["s3"] = opts["s3"]
    if "signature_version" in opts:
        cfg["signature_version"] = opts["signature_version"]
    if opts.get("account_id"):
        session = boto3.Session(aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                                aws_account_id=ACCOUNT, region_name=opts.get("region", REGION))
    else:
        session = boto3.Session(region_name=opts.get("region", REGION))
    return session.client(c["service"], config=Config(**cfg))


def render(raw):
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        sys.exit("no end of headers")
    text = head.decode("ascii") + "\r\n\r\n"
    try:
        return text + body.decode("utf-8"), None
    except UnicodeDecodeError:
        return text, base64.b64encode(body).decode("ascii")


def capture(c):
    UUIDS.reset(c["name"])
    FORCED.clear()
    if c["options"].get("force"):
        FORCED[c["service"]] = c["options"]["force"]
    client = client_for(c)
    op_model = client.meta.service_model.operation_model(c["operation"])
    method = botocore.xform_name(c["operation"])
    params = c["params"]
    for m, shape in (op_model.input_shape.members.items() if op_model.input_shape else []):
        if shape.metadata.get("idempotencyToken") and m not in params:
            sys.exit(f"{c['name']}: pass the idempotency token {m} explicitly")

    if c["options"].get("presign"):
        url = client.generate_presigned_url(method, Params=params,
                                            ExpiresIn=c["options"]["presign"])
        u = urlsplit(url)
        target = botocore.httpsession.URLLib3Session._path_url(None, url)
        raw = f"{op_model.http['method']} {target} HTTP/1.1\r\nHost: {u.netloc}\r\n\r\n"
        scope = re.search(r"X-Amz-Credential=[^&]*?%2F\d{8}%2F([a-z0-9-]+)%2F", url)
        region = scope.group(1) if scope else host_region(u.hostname, client)
        return raw.encode("ascii"), region, op_model, {}, client

    seen, after_build = [], {}

    def snapshot(params, **_):
        # A body botocore wrapped as a file object (S3) is left out: it is the payload passed.
        after_build.update(json.loads(json.dumps(jsonable(
            {k: v for k, v in params.items() if not hasattr(v, "read")}))))

    def before_send(request, **_):
        seen.append((wire_bytes(request), request.context.get("signing", {}).get("region"),
                     request.url))
        return botocore.awsrequest.AWSResponse(request.url, 200, {}, FakeRaw())

    events = client.meta.events
    # The least specific event name runs after botocore's own handlers (idempotency tokens,
    # checksum mode, S3 encoding type), whatever their event names.
    events.register_last("before-parameter-build", snapshot)
    events.register("before-send", before_send)
    try:
        getattr(client, method)(**params)
    except Exception as e:  # noqa: BLE001  (the fake response may not parse; the request counts)
        if not seen:
            raise SystemExit(f"{c['name']}: no request was sent: {type(e).__name__}: {e}")
    if len(seen) != 1:
        sys.exit(f"{c['name']}: {len(seen)} requests were sent")
    raw, region, url = seen[0]
    if "Authorization" not in request_headers(raw):
        region = host_region(urlsplit(url).hostname, client)
    else:
        # The signing region botocore resolved (global endpoints: us-east-1), else the client's.
        region = region or client.meta.region_name
    passed = jsonable(params)
    added = {}
    for k, v in after_build.items():
        if k not in passed:
            added[k] = v
        elif v != passed[k]:
            sys.exit(f"{c['name']}: botocore changed {k} from {passed[k]!r} to {v!r}")
    return raw, region, op_model, added, client


def request_headers(raw):
    head = raw.partition(b"\r\n\r\n")[0].decode("ascii").split("\r\n")[1:]
    return {h.split(":", 1)[0]: h.split(":", 1)[1].strip() for h in head}


def host_region(host, client):
    """For a request with no credential scope: the client's region when the host names it,
    else None (nothing in the request gives the region)."""
    region = client.meta.region_name
    return region if region in host.split(".") else None


def header_members(op_model, raw, passed, added):
    """Header members botocore set on its own while building the request."""
    if op_model.metadata["protocol"] not in gen_wire.REST or op_model.input_shape is None:
        return {}
    head = raw.partition(b"\r\n\r\n")[0].decode("ascii").split("\r\n")[1:]
    headers = [(h.split(":", 1)[0].lower(), h.split(":", 1)[1].strip()) for h in head]
    out = {}
    for m, shape in op_model.input_shape.members.items():
        if m in passed or m in added:
            continue
        loc = shape.serialization.get("location")
        name = shape.serialization.get("name", m).lower()
        if loc == "header":
            vals = [v for k, v in headers if k == name]
            if vals:
                out[m] = vals[0]
        elif loc == "headers":
            vals = {k[len(name):]: v for k, v in headers if k.startswith(name)}
            if vals:
                out[m] = vals
    return out


def ambiguity(wire, service, operation, protocol):
    """Services whose request for this operation looks the same on the wire."""
    me = wire[service]
    op = me["ops"][operation]
    out = []
    for other, e in wire.items():
        if other == service or e["signing"] != me["signing"] or e["prefix"] != me["prefix"]:
            continue
        if protocol not in e["protocols"]:
            continue
        if protocol in ("json", "smithy-rpc-v2-cbor") and e.get("target") != me.get("target"):
            continue
        if protocol in ("query", "ec2") and e["version"] != me["version"]:
            continue
        o = e["ops"].get(operation)
        if protocol in gen_wire.REST:
            if any(v[0] == op[0] and gen_wire.templates_overlap(v[1], op[1])
                   for v in e["ops"].values()):
                out.append(other)
        elif o is not None and o[:2] == op[:2]:
            out.append(other)
    return sorted(out)


def shared_note(wire, service, protocol):
    """What tells this service apart from the others with its signing name, on the wire."""
    me = wire[service]
    others = sorted(s for s, e in wire.items() if e["signing"] == me["signing"] and s != service)
    if not others:
        return ""
    facts = []
    for o in others:
        e = wire[o]
        why = []
        if e["prefix"] != me["prefix"]:
            why.append(f"endpoint prefix {e['prefix']}")
        op = gen_wire.botocore_family(e)
        if op != protocol:
            why.append(f"protocol {op}")
        elif protocol in ("json", "smithy-rpc-v2-cbor") and e.get("target") != me.get("target"):
            why.append(f"target {e.get('target')}")
        elif protocol in ("query", "ec2") and e["version"] != me["version"]:
            why.append(f"Version {e['version']}")
        elif protocol in gen_wire.REST and not why:
            why.append("other URI templates")
        facts.append(f"{o} ({', '.join(why) if why else 'nothing'})")
    return (f" Signing name {me['signing']} is shared with " + "; ".join(facts) +
            f"; this one: endpoint prefix {me['prefix']}, protocol {protocol}" +
            (f", target {me['target']}" if protocol in ("json", "smithy-rpc-v2-cbor") else "") +
            (f", Version {me['version']}" if protocol in ("query", "ec2") else "") + ".")


def main():
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=OUT, help=f"where to write the vectors (default {OUT})")
    args = ap.parse_args()
    if botocore.__version__ != BOTOCORE[1] or boto3.__version__ != BOTOCORE[1]:
        sys.exit(f"boto3 {boto3.__version__} / botocore {botocore.__version__}: the pin is "
                 f"{BOTOCORE[1]}")
    with open(WIRE, encoding="utf-8") as f:
        wire = json.load(f)
    if wire["source"]["botocore"] != BOTOCORE[1]:
        sys.exit(f"{WIRE} is from botocore {wire['source']['botocore']}")
    wire = wire["services"]
    names = set()
    vectors, warnings = [], []
    for c in CASES:
        if c["name"] in names:
            sys.exit(f"duplicate name {c['name']}")
        names.add(c["name"])
        raw, region, op_model, added, client = capture(c)
        protocol = client.meta.service_model.resolved_protocol
        passed = jsonable(c["params"])
        sdk = dict(added)
        sdk.update(header_members(op_model, raw, passed, added))
        text, body = render(raw)
        # Checks against the table the decoder will use.
        svc = wire[c["service"]]
        if c["operation"] not in svc["ops"]:
            sys.exit(f"{c['name']}: {c['operation']} not in {WIRE}")
        if protocol not in svc["protocols"]:
            sys.exit(f"{c['name']}: protocol {protocol} not listed")
        scope = re.search(r"Credential=AKIDEXAMPLE/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request",
                          text) or re.search(
            r"X-Amz-Credential=AKIDEXAMPLE%2F\d{8}%2F([a-z0-9-]+)%2F([a-z0-9-]+)%2F", text)
        if scope:
            if scope.group(2) != svc["signing"] and scope.group(2) not in svc.get("signing_alt", []):
                warnings.append(f"{c['name']}: signed as {scope.group(2)}, wire.json says "
                                f"{svc['signing']}")
            if scope.group(1) != region:
                sys.exit(f"{c['name']}: scope region {scope.group(1)} != {region}")
        elif "Authorization:" in text:
            sys.exit(f"{c['name']}: unexpected Authorization header")
        expect = {"service": c["service"], "operation": c["operation"], "region": region,
                  "params": passed}
        if sdk:
            expect["sdk_params"] = sdk
        payload = op_model.input_shape.serialization.get("payload") if op_model.input_shape \
            else None
        if payload and payload in passed and \
                op_model.input_shape.members[payload].type_name in ("blob", "string"):
            expect["payload"] = payload
        amb = ambiguity(wire, c["service"], c["operation"], protocol)
        if amb:
            expect["ambiguous_with"] = amb
        desc = c["description"].rstrip(".") + "."
        desc += shared_note(wire, c["service"], protocol)
        if amb:
            desc += (f" Nothing on the wire tells it from {', '.join(amb)} (the same "
                     f"{c['operation']} request).")
        v = {"name": c["name"], "description": desc, "sdk": f"boto3 {boto3.__version__}",
             "protocol": protocol}
        if c["options"].get("force"):
            v["protocol_forced"] = True
        v["request"] = text
        v["body_base64"] = body is not None
        if body is not None:
            v["body"] = body
        v["expect"] = expect
        vectors.append(v)
    data = json.dumps(vectors, indent=2, ensure_ascii=False) + "\n"
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(data)
    counts = {}
    for v in vectors:
        counts[v["protocol"]] = counts.get(v["protocol"], 0) + 1
    print(f"{args.out}: {len(vectors)} vectors, {len(data.encode())} bytes; " +
          ", ".join(f"{p} {n}" for p, n in sorted(counts.items())))
    for w in warnings:
        print("warning:", w)


if __name__ == "__main__":
    main()
