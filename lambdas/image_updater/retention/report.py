"""The retention e-mail's lines beyond the hub Region's deletions and keeps: the shares
removed, and each copy Region's deletions, keeps (with each unreadable account and why) or
the error that stopped retention there. Pure, over the JSON the retain step returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_UNSHARED = (
    "nshared (the account was read and neither runs it nor records it as a rollback target): "
)


def _pairs(unshared: list[Mapping[str, Any]]) -> str:
    return ", ".join(f"{u.get('name')} from {u.get('accountId')}" for u in unshared)


def region_lines(retention: Mapping[str, Any]) -> list[str]:
    lines = []
    if retention.get("unshared"):
        lines.append("U" + _UNSHARED + _pairs(list(retention["unshared"])))
    for region in retention.get("regions", []):
        name = region.get("region")
        if "error" in region:
            lines.append(
                f"Copies in {name}: retention did not run ({region['error']}). Nothing was "
                "deleted or unshared there; the next update that settles tries again."
            )
            continue
        parts = []
        if region.get("deleted"):
            parts.append("deleted " + ", ".join(region["deleted"]))
        if region.get("unshared"):
            parts.append("u" + _UNSHARED + _pairs(list(region["unshared"])))
        kept = [f"  - {k.get('name')}: {k.get('reason')}" for k in region.get("kept", [])]
        if kept:
            parts.append("kept although beyond keepImages:\n" + "\n".join(kept))
        lines.append(f"Copies in {name}: " + ("; ".join(parts) if parts else "nothing to do"))
    return lines
