# The copy bucket (copy_bucket): a second place for every backup, in another region, or in
# another account through the provider below (give it assume_role, or a profile, of that account).
# The copier role (main.tf) reads the backups and may only write here: no read, no delete, so
# its credentials can neither leak nor destroy the copies. The verifier may read here too, so
# that verify-latest checks every store. Prune it with its own retention (prune.yml against
# copy_to), usually longer.

provider "aws" {
  alias  = "copy"
  region = var.copy_region != "" ? var.copy_region : null
  # Another account: uncomment and name a role of that account that may create the bucket.
  # assume_role {
  #   role_arn = "arn:aws:iam::210987654321:role/terraform"
  # }
}

resource "aws_s3_bucket" "copies" {
  count    = var.copy_bucket != "" ? 1 : 0
  provider = aws.copy
  bucket   = var.copy_bucket
}

resource "aws_s3_bucket_versioning" "copies" {
  count    = var.copy_bucket != "" ? 1 : 0
  provider = aws.copy
  bucket   = aws_s3_bucket.copies[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "copies" {
  count                   = var.copy_bucket != "" ? 1 : 0
  provider                = aws.copy
  bucket                  = aws_s3_bucket.copies[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "copies" {
  count    = var.copy_bucket != "" ? 1 : 0
  provider = aws.copy
  bucket   = aws_s3_bucket.copies[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "copies" {
  count      = var.copy_bucket != "" ? 1 : 0
  provider   = aws.copy
  bucket     = aws_s3_bucket.copies[0].id
  depends_on = [aws_s3_bucket_versioning.copies]

  # A copy cut short leaves its upload open until retention-prune's sweep, or this.
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {
      prefix = "${var.copy_prefix}/"
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expire-deleted-versions"
    status = "Enabled"
    filter {
      prefix = "${var.copy_prefix}/"
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }
}

# The verifier reads the copies as it reads the backups (verify-latest over every store, and
# restores that fall back on a copy): the same document, for the copy bucket.
resource "aws_iam_policy" "verifier_copies" {
  count  = var.copy_bucket != "" ? 1 : 0
  name   = "backup-action-verifier-copies"
  policy = templatefile("${path.module}/../iam/verifier.json", { bucket = var.copy_bucket, prefix = var.copy_prefix })
}

resource "aws_iam_role_policy_attachment" "verifier_copies" {
  count      = var.copy_bucket != "" ? 1 : 0
  role       = aws_iam_role.backup["verifier"].name
  policy_arn = aws_iam_policy.verifier_copies[0].arn
}

# In another account, the roles' own policies are not enough: the bucket must let them in too.
data "aws_iam_policy_document" "copies" {
  count = var.copy_bucket != "" ? 1 : 0
  statement {
    sid       = "CopierListsToFindWhatIsThere"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.copies[0].arn]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.backup["copier"].arn, aws_iam_role.backup["verifier"].arn]
    }
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.copy_prefix}/*"]
    }
  }
  statement {
    sid       = "CopierWritesNeverReadsOrDeletes"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.copies[0].arn}/${var.copy_prefix}/*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.backup["copier"].arn]
    }
  }
  statement {
    sid       = "VerifierReads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.copies[0].arn}/${var.copy_prefix}/*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.backup["verifier"].arn]
    }
  }
}

resource "aws_s3_bucket_policy" "copies" {
  count    = var.copy_bucket != "" ? 1 : 0
  provider = aws.copy
  bucket   = aws_s3_bucket.copies[0].id
  policy   = data.aws_iam_policy_document.copies[0].json
}
