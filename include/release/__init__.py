"""One release policy for the three families: what must be proven before a change reaches an environment."""
