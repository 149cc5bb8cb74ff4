# A small amazon-ebs template for the build tests: it builds against a moto server, with no
# communicator, so a whole build takes seconds. `sleep_seconds` makes the shell-local
# provisioner slow enough to interrupt.

packer {
  required_version = ">= 1.6.0"
}

variable "endpoint" {
  type = string
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "build_commit" {
  type = string
}

variable "ami_regions" {
  type    = list(string)
  default = []
}

variable "sleep_seconds" {
  type    = number
  default = 0
}

locals {
  source_ami = "ami-03cf127a"
  ami_name   = "packer-ecs-test-${var.build_commit}-${formatdate("YYYYMMDDhhmmss", timestamp())}"
}

source "amazon-ebs" "ecs" {
  region                 = var.region
  custom_endpoint_ec2    = var.endpoint
  skip_region_validation = true
  source_ami             = local.source_ami
  instance_type          = "t3.micro"
  communicator           = "none"
  ami_name               = local.ami_name
  ami_regions            = var.ami_regions
  tags = {
    Name         = local.ami_name
    build_commit = var.build_commit
  }
}

build {
  sources = ["source.amazon-ebs.ecs"]

  provisioner "shell-local" {
    inline = ["echo provisioner-started", "sleep ${var.sleep_seconds}"]
  }

  post-processor "manifest" {
    output = "manifest.json"
    custom_data = {
      region       = var.region
      source_ami   = local.source_ami
      ami_name     = local.ami_name
      build_commit = var.build_commit
    }
  }
}
