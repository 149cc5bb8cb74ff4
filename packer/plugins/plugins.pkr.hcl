# Plugins for Packer >= 1.7, which ships without the amazon builder: `cargo xtask` runs
# `packer init packer/plugins` before building. Kept out of packer/ because Packer 1.6.6
# (Debian's) has the amazon builder built in and rejects required_plugins.

packer {
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.3.0"
    }
  }
}
