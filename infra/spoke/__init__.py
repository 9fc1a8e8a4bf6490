"""The spoke: the stack a consumer account deploys in each Region where it runs fleets of the
hub's images (`hubAccountId` set). It builds, copies, shares and deletes no image: its
schedule finds the hub's new images (shared with this account, or copied to this Region when
the hub is this account) and rolls each out to this account's tagged fleets with the hub's own
roll-out sub-flow, functions and rules, e-mailing this account's team."""
