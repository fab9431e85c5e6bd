output "storage" {
  description = "The storage input for every mode."
  value       = "s3://${aws_s3_bucket.backups.bucket}/${var.prefix}"
}

output "role_arns" {
  description = "role-to-assume for aws-actions/configure-aws-credentials, per mode's role."
  value       = { for name, role in aws_iam_role.backup : name => role.arn }
}
