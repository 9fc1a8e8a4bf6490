"""Image permissions: images shared with other accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rehearsal.appstream.state import AccountState


class Permissions(AccountState):
    """Which accounts an image is shared with."""

    def share_image(self, name: str, account_id: str) -> None:
        """UpdateImagePermissions: `name` is shared with another account."""
        with self._lock:
            self._shares.setdefault(name, set()).add(account_id)
            self._stored(name).image["ImageSharedWithOthers"] = "TRUE"

    def _describe_image_permissions(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        name = params["Name"]
        self._stored(name)
        shared = [
            {
                "sharedAccountId": account,
                "imagePermissions": {"allowFleet": True, "allowImageBuilder": True},
            }
            for account in sorted(self._shares.get(name, ()))
        ]
        return {"Name": name, "SharedImagePermissionsList": shared}
