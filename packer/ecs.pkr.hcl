# The ECS container-instance AMI: the newest ECS-optimized Amazon Linux 2023 AMI plus a
# dedicated data volume, a timezone, quiet cloud-init, the CloudWatch agent and cfn
# helpers, cleaned of per-instance state, with a first-run script that adapts each
# instance to its cluster. Run from the repository root: packer build packer/

packer {
  required_version = ">= 1.6.6"
}

locals {
  # 20261125173000: sorts by time and is unique per build.
  timestamp = regex_replace(timestamp(), "[- TZ:]", "")

  instance_type = var.instance_type != "" ? var.instance_type : lookup({
    x86_64 = "t3.medium"
    arm64  = "t4g.medium"
  }, var.arch, "t3.medium")

  ami_name = "${var.ami_name_prefix}-al2023-${var.arch}-${local.timestamp}"

  tags = {
    Name          = local.ami_name
    SourceAMI     = "{{ .SourceAMI }}"
    SourceAMIName = "{{ .SourceAMIName }}"
    BuildCommit   = var.build_commit
  }

  # Provisioners run as root through sudo, which AL2023's ec2-user has without a password
  # (-n: fail instead of prompting). {{ .Vars }} are shell-quoted assignments for env.
  sudo = "chmod +x {{ .Path }}; sudo -n env {{ .Vars }} {{ .Path }}"
}

source "amazon-ebs" "ecs" {
  region                 = var.region
  custom_endpoint_ec2    = var.ec2_endpoint
  skip_region_validation = var.skip_region_validation

  ami_name      = local.ami_name
  instance_type = local.instance_type
  source_ami    = var.source_ami

  dynamic "source_ami_filter" {
    for_each = var.source_ami == "" ? [var.arch] : []
    content {
      filters = {
        name                = "al2023-ami-ecs-hvm-*-kernel-6.1-${source_ami_filter.value}"
        architecture        = source_ami_filter.value
        virtualization-type = "hvm"
        root-device-type    = "ebs"
      }
      owners      = ["amazon"]
      most_recent = true
    }
  }

  # The data volume: attached while building, so the AMI carries it.
  launch_block_device_mappings {
    device_name           = "/dev/xvdcy"
    volume_size           = var.data_volume_size
    volume_type           = "gp3"
    iops                  = 3000 # gp3's baseline, which Packer 1.6.6 wants spelt out
    throughput            = 125
    delete_on_termination = true
  }

  communicator         = "ssh"
  ssh_host             = var.ssh_host
  ssh_port             = var.ssh_port
  ssh_username         = var.ssh_username
  ssh_interface        = var.ssh_interface
  ssh_keypair_name     = var.ssh_keypair_name
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = var.ssh_timeout
  # A temporary key pair of type ed25519: AL2023's crypto policy refuses ssh-rsa (SHA-1)
  # signatures, which older SSH clients, Go's among them, make with an RSA key. Packer 1.6.6
  # accepts the setting but still asks EC2 for an RSA pair (its CreateKeyPair has no KeyType).
  temporary_key_pair_type = "ed25519"

  tags          = local.tags
  snapshot_tags = local.tags
  run_tags = {
    Name = "packer-ecs build ${local.timestamp}"
  }
}

build {
  sources = ["source.amazon-ebs.ecs"]

  provisioner "shell" {
    script          = "${path.root}/../scripts/storage.sh"
    execute_command = local.sudo
  }

  provisioner "shell" {
    script           = "${path.root}/../scripts/time.sh"
    environment_vars = ["TIMEZONE=${var.timezone}"]
    execute_command  = local.sudo
  }

  provisioner "shell" {
    script          = "${path.root}/../scripts/cloudinit.sh"
    execute_command = local.sudo
  }

  provisioner "shell" {
    script          = "${path.root}/../scripts/packages.sh"
    execute_command = local.sudo
  }

  provisioner "shell" {
    script          = "${path.root}/../scripts/cleanup.sh"
    execute_command = local.sudo
  }

  provisioner "file" {
    source      = "${path.root}/../files/firstrun.sh"
    destination = "/tmp/firstrun.sh"
  }

  provisioner "shell" {
    inline = [
      "sudo -n install -o root -g root -m 0755 /tmp/firstrun.sh /home/ec2-user/firstrun.sh",
      "rm -f /tmp/firstrun.sh",
    ]
  }

  post-processor "manifest" {
    output     = "manifest.json"
    strip_path = true
    custom_data = {
      build_commit = var.build_commit
      source_ami   = "${build.SourceAMI}"
      region       = var.region
      ami_name     = local.ami_name
    }
  }
}
