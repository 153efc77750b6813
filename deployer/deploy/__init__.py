"""Use cases: start a deployment (from a push or a request), poll the open ones, roll back, promote,
control a canary."""
