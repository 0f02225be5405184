"""`mojactl plan --render`: the plan's Helm releases rendered from the real charts, and checks of what
would actually run. A post-processing step over the plan record, never a second program."""
