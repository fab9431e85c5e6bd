# The bucket and three least-privilege roles for backup-action, and with copy_bucket a second
# bucket for copies (copies.tf) and a fourth role, the copier. The roles' permissions are the
# documents in ../iam/, the ones the project's tests run every mode under, so they cannot drift.

locals {
  policy_vars = {
    bucket      = var.bucket
    prefix      = var.prefix
    copy_bucket = var.copy_bucket
    copy_prefix = var.copy_prefix
  }
  roles = {
    writer   = "backup (PutObject, AbortMultipartUpload; no read, no delete)"
    verifier = "verify-latest, restore-test, restore and status (list and read; write its runs' history records)"
    pruner   = "retention-prune (list, read manifests, delete, abort uploads)"
    copier   = "copy (list and read the source; list and write the copy bucket, no read, no delete there)"
  }
  # The copier only where there is a copy bucket.
  enabled_roles = { for name, what in local.roles : name => what if name != "copier" || var.copy_bucket != "" }
  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
}

resource "aws_s3_bucket" "backups" {
  bucket              = var.bucket
  object_lock_enabled = var.object_lock_days > 0
}

resource "aws_s3_bucket_versioning" "backups" {
  bucket = aws_s3_bucket.backups.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "backups" {
  bucket                  = aws_s3_bucket.backups.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "backups" {
  bucket = aws_s3_bucket.backups.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "backups" {
  bucket = aws_s3_bucket.backups.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "backups" {
  bucket     = aws_s3_bucket.backups.id
  depends_on = [aws_s3_bucket_versioning.backups]

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {
      prefix = "${var.prefix}/"
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # retention-prune deletes the current versions; this removes what versioning keeps of them.
  rule {
    id     = "expire-deleted-versions"
    status = "Enabled"
    filter {
      prefix = "${var.prefix}/"
    }
    noncurrent_version_expiration {
      noncurrent_days = max(30, var.object_lock_days)
    }
  }

  dynamic "rule" {
    for_each = var.transition_days > 0 ? [1] : []
    content {
      id     = "cheaper-class"
      status = "Enabled"
      filter {
        prefix = "${var.prefix}/"
      }
      transition {
        days          = var.transition_days
        storage_class = var.transition_storage_class
      }
    }
  }
}

resource "aws_s3_bucket_object_lock_configuration" "backups" {
  count      = var.object_lock_days > 0 ? 1 : 0
  bucket     = aws_s3_bucket.backups.id
  depends_on = [aws_s3_bucket_versioning.backups]
  rule {
    default_retention {
      mode = "GOVERNANCE"
      days = var.object_lock_days
    }
  }
}

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_oidc_provider ? 1 : 0
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1
  url   = "https://token.actions.githubusercontent.com"
}

# Who may take each role, as GitHub's OIDC token names the job: the workflows of one repository
# on one branch (or environment), and for the verifier also the restore's environment, since a
# restore reads what verify reads (its job runs in that environment, whose subject is its own).
data "aws_iam_policy_document" "github_trust" {
  for_each = local.enabled_roles
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    # One repository, one branch or environment: no other workflow can take the role.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values = compact([
        "repo:${var.github_repository}:${var.github_subject}",
        each.key == "verifier" && var.restore_environment != "" ? "repo:${var.github_repository}:environment:${var.restore_environment}" : "",
      ])
    }
  }
}

resource "aws_iam_role" "backup" {
  for_each           = local.enabled_roles
  name               = "backup-action-${each.key}"
  description        = "backup-action ${each.value}"
  assume_role_policy = data.aws_iam_policy_document.github_trust[each.key].json
  # The jobs ask for credentials as long as they may run (role-duration-seconds): up to 4 hours.
  max_session_duration = var.max_session_duration
}

resource "aws_iam_policy" "backup" {
  for_each = local.enabled_roles
  name     = "backup-action-${each.key}"
  policy   = templatefile("${path.module}/../iam/${each.key}.json", local.policy_vars)
}

resource "aws_iam_role_policy_attachment" "backup" {
  for_each   = local.enabled_roles
  role       = aws_iam_role.backup[each.key].name
  policy_arn = aws_iam_policy.backup[each.key].arn
}
