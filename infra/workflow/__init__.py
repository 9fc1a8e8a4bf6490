"""The workflow's sub-flows (Step Functions fragments: update_image, rollout, breaker, notify),
the helpers they are built with (tasks: a Lambda step with its retries and catch; emails: write
and send an e-mail; fragment: the shared shape and parts) and the names of their states;
`infra.constructs.workflow` composes them into the state machine."""
