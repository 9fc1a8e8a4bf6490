"""The retention e-mail's lines beyond the hub Region's deletions and keeps: the shares
removed, and each copy Region's deletions, keeps (with each unreadable account and why) or
the error that stopped retention there. Pure, over the JSON the retain step returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def unshared_line(unshared: list[Mapping[str, Any]], where: str = "") -> str:
    pairs = ", ".join(f"{u.get('name')} from {u.get('accountId')}" for u in unshared)
    return (
        f"Unshared{where} (the account was read and neither runs it nor records it as a "
        f"rollback target): {pairs}"
    )


def region_lines(retention: Mapping[str, Any]) -> list[str]:
    lines = []
    if retention.get("unshared"):
        lines.append(unshared_line(list(retention["unshared"])))
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
            parts.append(unshared_line(list(region["unshared"])).lower())
        kept = [f"  - {k.get('name')}: {k.get('reason')}" for k in region.get("kept", [])]
        if kept:
            parts.append("kept although beyond keepImages:\n" + "\n".join(kept))
        lines.append(f"Copies in {name}: " + ("; ".join(parts) if parts else "nothing to do"))
    return lines
