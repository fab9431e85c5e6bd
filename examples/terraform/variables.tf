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

variable "restore_environment" {
  description = "The GitHub environment restores run in (restore.yml's environment input, the manual-restore template's): the verifier role trusts it too. Empty: no restore through OIDC."
  type        = string
  default     = "production-restore"
}

variable "max_session_duration" {
  description = "Longest session of each role, in seconds (AWS allows 3600 to 43200): at least the workflows' role-duration-seconds, 14400 for a restore."
  type        = number
  default     = 14400
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

variable "copy_bucket" {
  description = "A second bucket for copies (created here, with the provider aws.copy: another region, or another account), and the copier role that reads the backups and may only write there. Empty: none."
  type        = string
  default     = ""
}

variable "copy_prefix" {
  description = "Folder in the copy bucket: copy-to is s3://<copy_bucket>/<copy_prefix>."
  type        = string
  default     = "backups"
}

variable "copy_region" {
  description = "Region of the copy bucket; empty: the default provider's."
  type        = string
  default     = ""
}
