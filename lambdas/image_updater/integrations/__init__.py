"""Adapters to the AWS services the capabilities share."""
