# The lambdaotel extension as a layer, and the two Go example functions:
# examples/apigateway behind an HTTP API, examples/sqs on an SQS queue.

locals {
  dist_dir = var.dist_dir != "" ? var.dist_dir : "${path.module}/../../../dist"

  # As `lambdaotel layer build` names it: extensions/lambdaotel inside.
  layer_zip = "${local.dist_dir}/lambdaotel-extension-${var.architecture}.zip"

  # The extension's backend; the functions' own OpenTelemetry SDKs keep
  # their default endpoint, the extension on localhost.
  environment = {
    LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT = var.otlp_endpoint
    LAMBDAOTEL_EXPORTER_OTLP_HEADERS  = var.otlp_headers
    # aws: X-Ray and CloudWatch Logs instead of the OTLP backend.
    LAMBDAOTEL_EXPORTER = var.destination == "aws" ? "aws" : ""
  }

  # Destination aws: the functions' log groups, each with the stream the
  # extension writes OTLP logs to (the endpoint writes only into existing
  # streams).
  aws_log_groups = var.destination == "aws" ? {
    pets    = "/aws/lambda/${var.name_prefix}pets"
    shipper = "/aws/lambda/${var.name_prefix}shipper"
  } : {}
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.aws_log_groups
  name     = each.value
}

resource "aws_cloudwatch_log_stream" "otlp" {
  for_each       = local.aws_log_groups
  name           = "lambdaotel"
  log_group_name = aws_cloudwatch_log_group.function[each.key].name
}

# Destination aws: put spans into X-Ray, log events into those streams.
data "aws_iam_policy_document" "otlp_to_aws" {
  statement {
    sid       = "Traces"
    actions   = ["xray:PutTraceSegments", "xray:PutSpans", "xray:PutSpansForIndexing"]
    resources = ["*"]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:PutLogEvents"]
    resources = [for g in aws_cloudwatch_log_group.function : "${g.arn}:log-stream:lambdaotel"]
  }
}

resource "aws_iam_role_policy" "otlp_to_aws" {
  count  = var.destination == "aws" ? 1 : 0
  name   = "otlp-to-aws"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.otlp_to_aws.json
}

resource "aws_lambda_layer_version" "lambdaotel" {
  layer_name               = "${var.name_prefix}lambdaotel-extension-${var.architecture}"
  description              = "lambdaotel, an OpenTelemetry extension for Lambda (${var.architecture})"
  filename                 = local.layer_zip
  source_code_hash         = filebase64sha256(local.layer_zip)
  compatible_architectures = [var.architecture]
}

# The functions' executables, built as bootstrap (see README.md).
data "archive_file" "apigateway" {
  type        = "zip"
  source_file = "${local.dist_dir}/functions/apigateway/bootstrap"
  output_path = "${path.module}/.build/apigateway.zip"
}

data "archive_file" "sqs" {
  type        = "zip"
  source_file = "${local.dist_dir}/functions/sqs/bootstrap"
  output_path = "${path.module}/.build/sqs.zip"
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = "${var.name_prefix}function"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.function.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_iam_role_policy_attachment" "sqs" {
  role       = aws_iam_role.function.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
}

# examples/apigateway: GET /pets/{petId}.
resource "aws_lambda_function" "apigateway" {
  function_name    = "${var.name_prefix}pets"
  role             = aws_iam_role.function.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = data.archive_file.apigateway.output_path
  source_code_hash = data.archive_file.apigateway.output_base64sha256
  layers           = [aws_lambda_layer_version.lambdaotel.arn]
  memory_size      = 128
  timeout          = 10

  environment {
    variables = local.environment
  }

  depends_on = [aws_iam_role_policy_attachment.logs]
}

# examples/sqs: a batch of orders.
resource "aws_lambda_function" "sqs" {
  function_name    = "${var.name_prefix}shipper"
  role             = aws_iam_role.function.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = data.archive_file.sqs.output_path
  source_code_hash = data.archive_file.sqs.output_base64sha256
  layers           = [aws_lambda_layer_version.lambdaotel.arn]
  memory_size      = 128
  timeout          = 10

  environment {
    variables = local.environment
  }

  depends_on = [aws_iam_role_policy_attachment.logs, aws_iam_role_policy_attachment.sqs]
}

# The HTTP API in front of the pets function. Its handler takes
# events.APIGatewayProxyRequest: payload format 1.0.
resource "aws_apigatewayv2_api" "pets" {
  name          = "${var.name_prefix}pets"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "pets" {
  api_id                 = aws_apigatewayv2_api.pets.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.apigateway.invoke_arn
  payload_format_version = "1.0"
}

resource "aws_apigatewayv2_route" "get_pet" {
  api_id    = aws_apigatewayv2_api.pets.id
  route_key = "GET /pets/{petId}"
  target    = "integrations/${aws_apigatewayv2_integration.pets.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.pets.id
  name        = "$default"
  auto_deploy = true
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.apigateway.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.pets.execution_arn}/*/*"
}

# The queue of orders and its event source mapping. Failed messages are
# reported back (ReportBatchItemFailures) so that SQS retries only those.
resource "aws_sqs_queue" "orders" {
  name                       = "${var.name_prefix}orders"
  visibility_timeout_seconds = 60 # at least 6 times the function's timeout
}

resource "aws_lambda_event_source_mapping" "orders" {
  event_source_arn        = aws_sqs_queue.orders.arn
  function_name           = aws_lambda_function.sqs.arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]
}
