"""Values and decisions of deployments, stdlib only: no I/O, no Azure imports, nothing from other layers."""
