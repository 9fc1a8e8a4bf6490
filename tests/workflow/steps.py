"""Given-steps shared by the workflow tests (the fixtures they take are in conftest.py)."""

from __future__ import annotations

from tests.workflow.conftest import AddImage


def imga_has_an_update_imgb_none(add_image: AddImage) -> None:
    """Given the two configured images, ImgA with an update available and ImgB without."""
    add_image("ImgA", updates_available=True)
    add_image("ImgB", updates_available=False)


def both_images_have_an_update(add_image: AddImage) -> None:
    """Given the two configured images, ImgA and ImgB, each with an update available."""
    add_image("ImgA", updates_available=True)
    add_image("ImgB", updates_available=True)
