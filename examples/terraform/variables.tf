variable "bucket" {
  description = "Name of the bucket that holds the backups (created here)."
  type        = string
}

variable "prefix" {
  description = "Folder in the bucket the backups go under: the storage input is s3://<bucket>/<prefix>."
  type        = string
  default     = "backups"
}

variable "github_repository" {
  description = "owner/name of the one repository whose workflows may take the roles."
  type        = string
}

variable "github_subject" {
  description = "What in that repository may take the roles, as GitHub's OIDC token says it: ref:refs/heads/main, or environment:production."
  type        = string
  default     = "ref:refs/heads/main"
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false when the account already has one)."
  type        = bool
  default     = true
}

variable "transition_days" {
  description = "Move backups to transition_storage_class after this many days (0: never)."
  type        = number
  default     = 0
}

variable "transition_storage_class" {
  description = "A class the modes can still read at once (GLACIER_IR, STANDARD_IA): verify-latest and restore-test cannot read GLACIER or DEEP_ARCHIVE without a restore."
  type        = string
  default     = "GLACIER_IR"
}

variable "object_lock_days" {
  description = "Keep every backup immutable for this many days with Object Lock in governance mode (0: no Object Lock). Only on a new bucket."
  type        = number
  default     = 0
}
