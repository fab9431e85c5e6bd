output "storage" {
  description = "The storage input for every mode."
  value       = "s3://${aws_s3_bucket.backups.bucket}/${var.prefix}"
}

output "copy_to" {
  description = "The copy-to input for copy and nightly.yml, when there is a copy bucket."
  value       = var.copy_bucket == "" ? null : "s3://${var.copy_bucket}/${var.copy_prefix}${var.copy_region == "" ? "" : "?region=${var.copy_region}"}"
}

output "role_arns" {
  description = "The roles' ARNs: nightly.yml's writer-role-arn, verifier-role-arn, pruner-role-arn and copier-role-arn (the verifier's also for restore.yml)."
  value       = { for name, role in aws_iam_role.backup : name => role.arn }
}
