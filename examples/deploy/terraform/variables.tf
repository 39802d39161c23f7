variable "destination" {
  description = "otlp: the OTLP backend of otlp_endpoint; aws: traces to X-Ray and logs to CloudWatch Logs over their OTLP endpoints, signed with the functions' role (LAMBDAOTEL_EXPORTER=aws)."
  type        = string
  default     = "otlp"

  validation {
    condition     = contains(["otlp", "aws"], var.destination)
    error_message = "destination must be otlp or aws."
  }
}

variable "otlp_endpoint" {
  description = "Base URL of the OTLP/HTTP backend or collector, e.g. https://otlp.example.com:4318 (LAMBDAOTEL_EXPORTER_OTLP_ENDPOINT; /v1/traces, /v1/metrics, /v1/logs are appended). Required unless destination is aws."
  type        = string
  default     = ""
}

variable "otlp_headers" {
  description = "Headers sent to the backend, k=v,k2=v2 with percent-encoded values, e.g. x-api-key=... (LAMBDAOTEL_EXPORTER_OTLP_HEADERS)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "architecture" {
  description = "Lambda architecture of the functions and the layer: x86_64 or arm64. Build the layer zip and the functions for it."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "dist_dir" {
  description = "Where `lambdaotel layer build` wrote the layer zips and the functions were built (dist/ of the repository by default)."
  type        = string
  default     = ""
}

variable "name_prefix" {
  description = "Prefix of the names of everything this module creates."
  type        = string
  default     = "lambdaotel-example-"
}
