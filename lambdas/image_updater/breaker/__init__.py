"""The circuit breaker: when `maxConsecutiveFailedRuns` scheduled runs in a row fail, the
workflow pauses its own schedule and says so, instead of failing (and e-mailing) every day
until someone notices."""
