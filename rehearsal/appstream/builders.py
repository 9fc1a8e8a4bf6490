"""The account's own image builders (they count toward the image builders quota)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rehearsal.appstream.state import PAGE_SIZE, AccountState


class Builders(AccountState):
    """Image builders the account runs (not the updates' temporary ones)."""

    def add_image_builder(self, name: str, *, image: str) -> None:
        """An image builder started from `image` (it counts toward the builders quota)."""
        with self._lock:
            self._builders[name] = {
                "Name": name,
                "Arn": (
                    f"arn:{self.partition}:appstream:{self.region}:{self.account_id}"
                    f":image-builder/{name}"
                ),
                "ImageArn": self._images[image].image["Arn"],
                "State": "RUNNING",
            }

    def _describe_image_builders(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        builders = list(self._builders.values())
        page_size = params.get("MaxResults") or PAGE_SIZE
        return self._page("ImageBuilders", builders, params.get("NextToken"), page_size)
