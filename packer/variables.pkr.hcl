# The template's variables. Those under "Local rehearsal" have defaults a normal build
# ignores; `cargo xtask build --local` sets them to point the build at moto and at a
# sandboxed SSH server.

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region to build in."
}

variable "arch" {
  type        = string
  default     = "x86_64"
  description = "CPU architecture: x86_64 or arm64. Picks the source AMI and the default instance type."
  validation {
    condition     = contains(["x86_64", "arm64"], var.arch)
    error_message = "The arch variable must be x86_64 or arm64."
  }
}

variable "source_ami" {
  type        = string
  default     = ""
  description = "Source AMI id. Empty: the newest ECS-optimized Amazon Linux 2023 AMI for arch, owned by amazon."
}

variable "instance_type" {
  type        = string
  default     = ""
  description = "Build instance type. Empty: t3.medium for x86_64, t4g.medium for arm64."
}

variable "timezone" {
  type        = string
  default     = "US/Eastern"
  description = "Timezone of the image, a name under /usr/share/zoneinfo."
}

variable "data_volume_size" {
  type        = number
  default     = 20
  description = "Size in GiB of the data volume /dev/xvdcy, mounted at /data."
}

variable "ami_name_prefix" {
  type        = string
  default     = "packer-ecs"
  description = "AMI names are PREFIX-al2023-ARCH-TIMESTAMP."
}

variable "build_commit" {
  type        = string
  default     = "unknown"
  description = "Git commit the image was built from; cargo xtask build fills it."
}

# Local rehearsal: overrides a normal build leaves alone.

variable "ec2_endpoint" {
  type        = string
  default     = ""
  description = "EC2 endpoint URL. Empty: AWS's own."
}

variable "skip_region_validation" {
  type        = bool
  default     = false
  description = "Skip checking region against AWS's list (needed for a local endpoint)."
}

variable "ssh_host" {
  type        = string
  default     = ""
  description = "Address to reach the build instance at. Empty: the instance's address."
}

variable "ssh_port" {
  type        = number
  default     = 22
  description = "SSH port of the build instance."
}

variable "ssh_username" {
  type        = string
  default     = "ec2-user"
  description = "Login user of the build instance."
}

variable "ssh_interface" {
  type        = string
  default     = ""
  description = "Which address of the instance to connect to (public_ip, private_ip, ...). Empty: Packer's choice."
}

variable "ssh_keypair_name" {
  type        = string
  default     = ""
  description = "Existing EC2 key pair for the build instance. Empty: a temporary one."
}

variable "ssh_private_key_file" {
  type        = string
  default     = ""
  description = "Private key to log in with. Empty: the temporary key pair's."
}

variable "ssh_timeout" {
  type        = string
  default     = "10m"
  description = "How long to wait for SSH to the build instance."
}
