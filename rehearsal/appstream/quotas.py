"""Service Quotas: concurrent managed updates, private images and image builders."""

from __future__ import annotations

from rehearsal.appstream.state import AccountState, ServiceError


class Quotas(AccountState):
    """The account's quotas, which CreateUpdatedImage must stay within."""

    def set_quota(
        self, *, concurrent_updates: int = 5, images: int = 10, image_builders: int = 10
    ) -> None:
        """Service Quotas: concurrent managed updates, private images and image builders in
        the account (AppStream's defaults)."""
        with self._lock:
            self._concurrent_update_quota = concurrent_updates
            self._image_quota = images
            self._image_builder_quota = image_builders

    def set_image_builders(self, count: int) -> None:
        """How many image builders the account runs besides the updates' temporary ones."""
        with self._lock:
            self._image_builders = count

    def _require_room_for_an_update(self) -> None:
        """An update needs a place under each quota (it starts a temporary image builder)."""
        if len(self._building()) >= self._concurrent_update_quota:
            raise ServiceError(
                "LimitExceededException",
                "The number of concurrent image updates exceeds the quota for this account.",
            )
        if self._private_image_count() >= self._image_quota:
            raise ServiceError(
                "LimitExceededException", "The number of images exceeds the quota for this account."
            )
        builders = len(self._building()) + self._image_builders + len(self._builders)
        if builders >= self._image_builder_quota:
            # An update runs a temporary image builder, which counts toward that quota.
            raise ServiceError(
                "LimitExceededException",
                "The number of image builders exceeds the quota for this account.",
            )
