"""The roll-out that the roll-out's unit tests share: lineage ImgA moving from OLD to NEW
(NEWER follows), in run EXECUTION, at NOW."""

from datetime import UTC, datetime

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
ROOT = "ImgA"
ARNS = "arn:aws:appstream:eu-west-1:111122223333"
OLD = "ImgA-20260501-030000"
NEW = "ImgA-20260601-030000"
NEWER = "ImgA-20260608-030000"
EXECUTION = "arn:aws:states:eu-west-1:111122223333:execution:ImageUpdater:run-1"
