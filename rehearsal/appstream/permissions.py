"""Image permissions: images shared with other accounts, in this Region.

UpdateImagePermissions shares an image (AVAILABLE) with an account, or changes what that
account may do with it; DescribeImagePermissions lists the shares; DeleteImagePermissions
removes one. At most 100 accounts per image (AppStream's quota, adjustable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rehearsal.appstream.state import AccountState, ServiceError

SHARED_ACCOUNTS_MAX = 100  # accounts one image can be shared with (AppStream quota)


class Permissions(AccountState):
    """Which accounts each image is shared with, and what each may do with it."""

    def share_image(
        self,
        name: str,
        account_id: str,
        *,
        allow_fleet: bool = True,
        allow_image_builder: bool = True,
    ) -> None:
        """UpdateImagePermissions, as done before the test: `name` is shared with an account."""
        with self._lock:
            stored = self._stored(name)
            self._shares.setdefault(name, {})[account_id] = {
                "allowFleet": allow_fleet,
                "allowImageBuilder": allow_image_builder,
            }
            stored.image["ImageSharedWithOthers"] = "TRUE"

    def shares(self, name: str) -> dict[str, dict[str, bool]]:
        """The accounts `name` is shared with, and their permissions."""
        with self._lock:
            return {account: dict(p) for account, p in self._shares.get(name, {}).items()}

    def _describe_image_permissions(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        name = params["Name"]
        self._stored(name)
        wanted = params.get("SharedAwsAccountIds")
        shared = [
            {"sharedAccountId": account, "imagePermissions": dict(permissions)}
            for account, permissions in sorted(self._shares.get(name, {}).items())
            if wanted is None or account in wanted
        ]
        page_size = params.get("MaxResults") or len(shared) or 1
        return {
            "Name": name,
            **self._page("SharedImagePermissionsList", shared, params.get("NextToken"), page_size),
        }

    def _update_image_permissions(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        name, account = params["Name"], params["SharedAccountId"]
        stored = self._stored(name)
        if stored.image["State"] != "AVAILABLE":
            raise ServiceError(
                "ResourceNotAvailableException", f"Image {name} is {stored.image['State']}."
            )
        shares = self._shares.get(name, {})
        if account not in shares and len(shares) >= SHARED_ACCOUNTS_MAX:
            raise ServiceError(
                "LimitExceededException",
                f"Image {name} is shared with {len(shares)} accounts, the most allowed.",
            )
        self._shares.setdefault(name, {})[account] = dict(params["ImagePermissions"])
        stored.image["ImageSharedWithOthers"] = "TRUE"
        return {}

    def _delete_image_permissions(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        name, account = params["Name"], params["SharedAccountId"]
        stored = self._stored(name)
        shares = self._shares.get(name, {})
        if account not in shares:
            raise ServiceError(
                "ResourceNotFoundException", f"Image {name} is not shared with {account}."
            )
        del shares[account]
        if not shares:
            del self._shares[name]
            stored.image.pop("ImageSharedWithOthers", None)
        return {}
