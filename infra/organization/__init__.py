"""The organisation (`organization` set): the hub's stack in each hub Region as a CDK Stage,
and the spokes as one service-managed CloudFormation StackSet deployed automatically to the
accounts of the configured OUs, in each spoke Region. Built with `CfnStackSet` (the L1: CDK has
no L2 for StackSets) and this package's own asset handling: see stack_set.py for why."""
