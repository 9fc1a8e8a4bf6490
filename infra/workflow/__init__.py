"""The workflow's sub-flows (Step Functions fragments), their task factories and the names of
their states; `infra.constructs.workflow` composes them into the state machine."""
