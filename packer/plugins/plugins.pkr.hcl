# Plugins for Packer >= 1.10, which ships without the amazon builder (1.7 to 1.9 still
# bundle it; there the plugin `packer init` installs takes its place): `cargo xtask` runs
# `packer init packer/plugins` before validating or building on Packer >= 1.7. Kept out of
# packer/ because Packer 1.6.6 (Debian's) has the amazon builder built in and rejects
# required_plugins.

packer {
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.3.0"
    }
  }
}
