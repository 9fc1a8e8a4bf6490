"""The spoke: a consumer account's roll-out of the images a hub account builds and shares.

A spoke never changes an image. Its own schedule reads the images shared with this account
(`DescribeImages(Type=SHARED)`, and the account's own copies when the hub is this account in
another Region), picks the newest image of each lineage the hub built (`discovery`), claims
it in the spoke's ledger once (`claims`), and rolls it out to this account's tagged fleets
with the hub's own roll-out code, through adapters that see the hub's images (`images`,
`fleets`, together the roll-out's view of the account: `view`).
"""
