"""The roll-out: after an image's update succeeds, fleets that follow its lineage (by their
tags) get the new image, canary fleets first, then, after a soak, a health check and (if
required) a person's approval, production fleets in their window. An unhealthy canary is put
back on its previous image. Fleets without the updater's tags are never touched."""
