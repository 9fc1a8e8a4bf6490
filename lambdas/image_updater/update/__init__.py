"""The update: for each configured image, check its lineage (follow an update under way, or
dry-run the newest image), create the updated image under the lineage's lock, and poll it
until it settles; then one final report per image the updater built (see `reports.py`)."""
