"""Thin adapters from Functions triggers to the service functions."""
