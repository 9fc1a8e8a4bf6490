"""AppStream, the only place that calls it: `client` (the client, error translation),
`images` (lineages, updates, deletion), `fleets` (fleets and image builders), `account` (this
account's images and fleets, as the roll-out's steps see them)."""
