terraform {
  required_version = ">= 1.5"
  required_providers {
    # 5.81.0: the first where aws_iam_openid_connect_provider's thumbprint_list is optional
    # (hashicorp/terraform-provider-aws#37255); main.tf's provider leaves it out.
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.81.0"
    }
  }
}
