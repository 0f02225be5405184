"""mojactl command groups, one module each; `mojaloop_iac.cli` registers them."""
