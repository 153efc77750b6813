"""The steps of one open deployment, as the poll takes it: verify, canary, settle, traffic, holds."""
