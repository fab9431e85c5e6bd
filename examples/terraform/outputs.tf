output "storage" {
  description = "The storage input for every mode."
  value       = "s3://${aws_s3_bucket.backups.bucket}/${var.prefix}"
}

output "role_arns" {
  description = "The roles' ARNs: nightly.yml's writer-role-arn, verifier-role-arn and pruner-role-arn (the verifier's also for restore.yml)."
  value       = { for name, role in aws_iam_role.backup : name => role.arn }
}
