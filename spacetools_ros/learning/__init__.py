"""Training data for spatial reasoning: seeded simulator scenes with questions whose answers come
exactly from the simulator (``spacetools data gen``)."""

CATEGORIES = ("pointing_object", "pointing_free_space", "yes_no", "fit", "relative_depth", "box3d_corners",
              "grasp", "multi_view")
