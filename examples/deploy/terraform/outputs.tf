output "pets_url" {
  description = "The HTTP API's URL: GET <url>/pets/7"
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "orders_queue_url" {
  description = "Send orders here: aws sqs send-message --queue-url <url> --message-body '{\"id\":\"o-1\",\"items\":2}'"
  value       = aws_sqs_queue.orders.url
}

output "layer_version_arn" {
  description = "The lambdaotel layer, to add to other functions of the same architecture"
  value       = aws_lambda_layer_version.lambdaotel.arn
}

output "function_names" {
  description = "The functions, by example"
  value = {
    apigateway = aws_lambda_function.apigateway.function_name
    sqs        = aws_lambda_function.sqs.function_name
  }
}
