"""Retention: after an update of a lineage succeeds, delete the lineage's older images beyond
`keepImages`, and never one that anything or anyone depends on."""
