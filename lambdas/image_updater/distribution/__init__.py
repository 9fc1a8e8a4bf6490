"""Distribution from the account that patches (the hub): each new image copied to other Regions
and shared with other accounts, once the hub is done with it."""
