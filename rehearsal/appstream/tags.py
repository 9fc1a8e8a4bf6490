"""Tags on images and fleets: ListTagsForResource, TagResource and UntagResource."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rehearsal.appstream.state import AccountState, ServiceError

# AppStream's limit on tags per resource (the Tags map's maximum in the model is per request).
_TAGS_PER_RESOURCE = 50


class Tags(AccountState):
    """Tags on the account's images and fleets, through the API."""

    def _list_tags_for_resource(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {"Tags": dict(self._tags_of(params["ResourceArn"]))}

    def _tag_resource(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        # A key starting with "aws:" never gets here: the model's TagKey pattern refuses it, so
        # it is a ValidationException (none of TagResource's modeled errors is about keys).
        arn: str = params["ResourceArn"]
        tags = self._tags_of(arn)
        merged = {**tags, **params["Tags"]}  # a key it has already gets the new value
        if len(merged) > _TAGS_PER_RESOURCE:
            raise ServiceError(
                "LimitExceededException",
                f"Resource {arn} would have {len(merged)} tags; "
                f"the limit is {_TAGS_PER_RESOURCE} per resource.",
            )
        tags.update(params["Tags"])
        return {}

    def _untag_resource(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        tags = self._tags_of(params["ResourceArn"])
        for key in params["TagKeys"]:
            tags.pop(key, None)  # a key the resource does not have is no error
        return {}

    def _tags_of(self, arn: str) -> dict[str, str]:
        """The tags of the fleet or image `arn` names: the stored dict itself, to change."""
        if ":fleet/" in arn:
            for stored in self._fleets.values():
                if stored.fleet["Arn"] == arn:
                    return stored.tags
            raise ServiceError("ResourceNotFoundException", f"Resource {arn} not found.")
        return self._stored_by_arn(arn).tags
